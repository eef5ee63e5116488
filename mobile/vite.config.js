// Built to ./dist and served by the platform at /m/ (backend/mobile_app.py). Everything the page needs is
// bundled: no CDN, no web fonts (government intranets have no internet).
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'

// Vant's icon stylesheet embeds a 25 KB icon font and names a CDN copy of it as a fallback: swap it for
// our own small CSS-mask glyphs (src/styles/van-icon.css) wherever a Vant component imports it.
const OWN_ICONS = fileURLToPath(new URL('./src/styles/van-icon.css', import.meta.url))
function noIconFont() {
  return {
    name: 'cunxin-no-icon-font',
    enforce: 'pre',
    load(id) {
      if (/[\\/]vant[\\/](es|lib)[\\/]icon[\\/]index\.css$/.test(id.split('?')[0])) {
        return readFileSync(OWN_ICONS, 'utf8')
      }
    },
  }
}

// The service worker (sw.js → dist/sw.js) with this build's files listed, so it can cache them all on install.
function serviceWorker() {
  return {
    name: 'cunxin-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const assets = Object.keys(bundle).filter((name) => name.startsWith('assets/')).sort().map((name) => `/m/${name}`)
      const version = createHash('sha256').update(assets.join('\n')).digest('hex').slice(0, 12)
      const source = readFileSync(fileURLToPath(new URL('./sw.js', import.meta.url)), 'utf8')
        .replace("'__CUNXIN_BUILD__'", JSON.stringify(version))
        .replace('__CUNXIN_ASSETS__', JSON.stringify(assets))
      this.emitFile({ type: 'asset', fileName: 'sw.js', source })
    },
  }
}

export default defineConfig({
  base: '/m/',
  plugins: [noIconFont(), vue(), Components({ resolvers: [VantResolver()], dts: false }), serviceWorker()],
  server: { proxy: { '/api': process.env.CUNXIN_API || 'http://127.0.0.1:8000' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2018', chunkSizeWarningLimit: 400 },
  test: { environment: 'node', include: ['tests/unit/**/*.test.js'] },
})
