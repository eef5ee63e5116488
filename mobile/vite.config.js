// Built to ./dist and served by the platform at /m/ (backend/mobile_app.py). Everything the page needs is
// bundled: no CDN, no web fonts (government intranets have no internet).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'

export default defineConfig({
  base: '/m/',
  plugins: [vue(), Components({ resolvers: [VantResolver()], dts: false })],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2018', chunkSizeWarningLimit: 400 },
  test: { environment: 'node', include: ['tests/unit/**/*.test.js'] },
})
