// IndexedDB 'cunxin': a small promise wrapper, no library (a handful of calls; nothing to bundle).
//   queue  — the outbox of events (keyPath localId)
//   photos — the photos of queued events, kept apart so that listing the queue never reads them
//            ({id: `${localId}/${index}`, localId, index, type, data: ArrayBuffer})
//   cache  — roster and catalogue for offline use ({key, value, fetchedAt})

const DB_NAME = 'cunxin'
const DB_VERSION = 1

let opening = null

function upgrade(db) {
  if (!db.objectStoreNames.contains('queue')) db.createObjectStore('queue', { keyPath: 'localId' })
  if (!db.objectStoreNames.contains('photos')) {
    db.createObjectStore('photos', { keyPath: 'id' }).createIndex('localId', 'localId')
  }
  if (!db.objectStoreNames.contains('cache')) db.createObjectStore('cache', { keyPath: 'key' })
}

/**
 * The open database (opened once per page).
 * @returns {Promise<IDBDatabase>}
 */
export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION)
      req.onupgradeneeded = () => upgrade(req.result)
      req.onsuccess = () => {
        const db = req.result
        // Another tab upgrading the schema: let it, and reopen next time.
        db.onversionchange = () => { db.close(); opening = null }
        resolve(db)
      }
      req.onerror = () => { opening = null; reject(req.error) }
      req.onblocked = () => console.warn('cunxin db: upgrade blocked by another tab')
    })
  }
  return opening
}

/** Close the database and forget it (tests; a page that is going away). */
export async function closeDb() {
  if (!opening) return
  const p = opening
  opening = null
  try { (await p).close() } catch { /* never opened */ }
}

/** A request as a promise. */
export function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

/**
 * Run `fn(stores)` in one transaction and resolve its result once the transaction has committed.
 * `fn` must issue its requests synchronously or chain them through request callbacks (no awaiting other work
 * inside: Safari commits a transaction left idle).
 * @template T
 * @param {string|string[]} names store names
 * @param {'readonly'|'readwrite'} mode
 * @param {(stores: Record<string, IDBObjectStore>) => T | Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function tx(names, mode, fn) {
  const db = await openDb()
  const list = Array.isArray(names) ? names : [names]
  return new Promise((resolve, reject) => {
    const t = db.transaction(list, mode)
    const stores = Object.fromEntries(list.map((n) => [n, t.objectStore(n)]))
    let result
    t.oncomplete = () => resolve(result)
    t.onerror = () => reject(t.error)
    t.onabort = () => reject(t.error || new Error('transaction aborted'))
    const fail = (e) => { try { t.abort() } catch { /* already finished */ } reject(e) }
    try {
      Promise.resolve(fn(stores)).then((r) => { result = r }, fail)
    } catch (e) {
      fail(e)
    }
  })
}

/** One record by key, or undefined. */
export function get(store, key) {
  return tx(store, 'readonly', (s) => req(s[store].get(key)))
}

/** All records of a store. */
export function getAll(store) {
  return tx(store, 'readonly', (s) => req(s[store].getAll()))
}

/** Put one record. */
export function put(store, value) {
  return tx(store, 'readwrite', (s) => { s[store].put(value) })
}
