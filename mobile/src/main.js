import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router.js'
import './styles/app.css'

createApp(App).use(router).mount('#app')

// Cache the app's own files for opening with no signal (where the browser has service workers; the
// WeChat browser on iOS has none, and the app still works there once loaded).
if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).catch(() => {}))
}
