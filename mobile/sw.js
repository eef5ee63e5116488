// The H5 app's service worker: it caches the app's own files (page and bundles) so the app opens with no
// signal — and nothing else. It never touches /api: the outbox of events lives in the page (IndexedDB),
// because the WeChat browser on iOS runs no service worker at all; there this file is simply not used.
// Built by vite.config.js (serviceWorker plugin), which fills in the build's file list and version.
const VERSION = '__CUNXIN_BUILD__'
const SHELL = '/m/'
const ASSETS = __CUNXIN_ASSETS__
const CACHE = `cunxin-app-${VERSION}`

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([SHELL, ...ASSETS])).then(() => self.skipWaiting()))
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('cunxin-app-') && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  )
})

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return
  if (url.pathname.startsWith('/m/assets/')) {
    // Hashed names never change: the cache first, the network for what it lacks.
    event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)))
  } else if (event.request.mode === 'navigate' && (url.pathname === '/m/' || url.pathname === '/m')) {
    // The page: the network first (a new build is picked up at once), the cached page with no signal.
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) caches.open(CACHE).then((cache) => cache.put(SHELL, response.clone()))
          return response
        })
        .catch(() => caches.match(SHELL)),
    )
  }
})
