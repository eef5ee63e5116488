// The grid worker's outbox: events recorded without signal wait here (IndexedDB, so they survive closing the
// browser — the WeChat browser on iOS runs no service worker) and are sent when the phone is online.
//
// Never twice: the idempotency key is made once per event in enqueue() and re-sent unchanged on every retry;
// the server answers a replay of the same key and payload with 200 and the same event. Photos go first, one
// by one, and each one's evidence id is saved on the item at once, so a retry never re-uploads a photo.

import { api, ApiError, getSession, NetworkError, onSessionChange } from '../api/client.js'
import { req, tx } from './db.js'

const SENDABLE = new Set(['waiting', 'syncing', 'auth_needed'])
const REMOVABLE = new Set(['failed', 'conflict', 'rejected', 'approved'])
const RETRYABLE = new Set(['failed', 'auth_needed'])
const BACKOFF_BASE_MS = 30 * 1000
const BACKOFF_MAX_MS = 15 * 60 * 1000
const AUTO_INTERVAL_MS = 60 * 1000
const MINE_PAGE = 200
const MINE_MAX_PAGES = 5
const KEEP_APPROVED_MS = 30 * 24 * 3600 * 1000

const LABELS = {
  waiting: '等待信号',
  syncing: '正在同步',
  in_review: '审核中',
  approved: '已计分',
  rejected: '已驳回',
  failed: '上传被拒',
  conflict: '记录冲突',
  auth_needed: '需重新登录',
}

/**
 * The Chinese label of a queue state.
 * @param {string} state
 * @returns {string}
 */
export function stateLabel(state) {
  return LABELS[state] || state
}

// ---- change listeners ----

const listeners = new Set()

/**
 * Be told after any change to the queue (an item added, its state changed, removed).
 * @param {(item: object|null) => void} fn called with the changed item (or null)
 * @returns {() => void} unsubscribe
 */
export function onQueueChange(fn) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

function changed(item = null) {
  for (const fn of [...listeners]) {
    try { fn(item) } catch (e) { console.error(e) }
  }
}

// ---- storage ----

/** A random id: crypto.randomUUID where there is one (it needs HTTPS), else a v4 UUID from getRandomValues. */
export function newKey() {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') {
    try { return c.randomUUID() } catch { /* insecure context */ }
  }
  let bytes
  if (c && typeof c.getRandomValues === 'function') bytes = c.getRandomValues(new Uint8Array(16))
  else bytes = Uint8Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const h = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

let lastCreatedAt = 0
const photoId = (localId, index) => `${localId}/${index}`

/** Read-modify-write one item in one transaction; `change` returns the new item (or nothing: unchanged). */
function update(localId, change) {
  return tx('queue', 'readwrite', (s) => new Promise((resolve, reject) => {
    const r = s.queue.get(localId)
    r.onsuccess = () => {
      const current = r.result
      if (!current) return resolve(null)
      const next = change(current) // a fresh copy: IndexedDB clones on every read
      if (next) s.queue.put(next)
      resolve(next || current)
    }
    r.onerror = () => reject(r.error)
  }))
}

async function allItems() {
  return tx('queue', 'readonly', (s) => req(s.queue.getAll()))
}

function currentOwner() {
  const s = getSession()
  return s ? (s.username || s.me?.username || null) : null
}

/** Items of the account now logged in (an item made by another account on this phone is never sent with ours). */
function isMine(item, owner) {
  return !owner || !item.owner || item.owner === owner
}

/** A Blob's bytes (Blob.arrayBuffer is missing before iOS 14: FileReader there). */
function bytesOf(blob) {
  if (typeof blob.arrayBuffer === 'function') return blob.arrayBuffer()
  return new Promise((resolve, reject) => {
    const r = new FileReader()
    r.onload = () => resolve(r.result)
    r.onerror = () => reject(r.error)
    r.readAsArrayBuffer(blob)
  })
}

/**
 * Add an event to the outbox (stored before anything is sent). The idempotency key is made here, once.
 * @param {{item_code: string, subject_kind: 'person'|'household'|'organisation', subject_id: number,
 *   occurred_on: string, level?: string|null, quantity?: number|string|null, note?: string, act_id?: string,
 *   photos?: Blob[], display?: {subject_name?: string, item_name_zh?: string}}} event photos already downscaled
 * @returns {Promise<object>} the stored item (as listQueue() shows it)
 */
export async function enqueue({ item_code, subject_kind, subject_id, occurred_on, level, quantity, note, act_id,
  photos = [], display = {} }) {
  const payload = { item_code, subject_kind, subject_id, occurred_on, note: note ?? '' }
  if (level !== undefined && level !== null && level !== '') payload.level = level
  if (quantity !== undefined && quantity !== null && quantity !== '') payload.quantity = quantity
  if (act_id) payload.act_id = act_id
  // Stored as bytes + type: Blobs in IndexedDB have failed on some iOS WebKit versions; bytes never do.
  const stored = []
  for (const blob of photos || []) {
    stored.push({ type: blob.type || 'image/jpeg', data: await bytesOf(blob) })
  }
  const localId = newKey()
  const createdAt = Math.max(Date.now(), lastCreatedAt + 1) // strictly increasing: a stable order
  lastCreatedAt = createdAt
  const item = {
    localId,
    idempotencyKey: newKey(),
    owner: currentOwner(),
    payload,
    display: { ...display },
    photos: stored.map((_, index) => ({ index, evidenceId: null })),
    photoCount: stored.length,
    state: 'waiting',
    error: null,
    lastError: null,
    eventId: null,
    serverStatus: null,
    points: null,
    reviewReason: '',
    createdAt,
    syncedAt: null,
    attempts: 0,
    nextAttemptAt: 0,
  }
  await tx(['queue', 'photos'], 'readwrite', (s) => {
    s.queue.put(item)
    stored.forEach((p, index) => s.photos.put({ id: photoId(localId, index), localId, index, ...p }))
  })
  changed(item)
  if (auto.started) kick()
  return item
}

/**
 * The outbox, newest first (the logged-in account's items; all items when nobody is logged in). Each:
 * {localId, idempotencyKey, payload, display, photoCount, photos: [{index, evidenceId}], state,
 *  error: {code, message_zh}|null, lastError, eventId, serverStatus, points, reviewReason, createdAt, syncedAt,
 *  attempts, nextAttemptAt}.
 * @returns {Promise<object[]>}
 */
export async function listQueue() {
  const owner = currentOwner()
  const items = (await allItems()).filter((it) => isMine(it, owner))
  return items.sort((a, b) => b.createdAt - a.createdAt)
}

/**
 * The photos still stored for an item (they are dropped once its event is recorded on the server).
 * @param {string} localId
 * @returns {Promise<Blob[]>}
 */
export async function getPhotos(localId) {
  const rows = await tx('photos', 'readonly', (s) => req(s.photos.index('localId').getAll(localId)))
  return rows.sort((a, b) => a.index - b.index).map((r) => new Blob([r.data], { type: r.type }))
}

/**
 * Remove an item the user dismisses: only failed, conflict, rejected (or approved, i.e. finished) items — an
 * item not yet on the server is never thrown away. Throws otherwise.
 * @param {string} localId
 * @returns {Promise<void>}
 */
export async function removeItem(localId) {
  await tx(['queue', 'photos'], 'readwrite', (s) => new Promise((resolve, reject) => {
    const r = s.queue.get(localId)
    r.onsuccess = () => {
      const item = r.result
      if (!item) return resolve()
      if (!REMOVABLE.has(item.state)) return reject(new Error('该记录尚未同步完成，不能删除'))
      s.queue.delete(localId)
      for (let i = 0; i < item.photoCount; i++) s.photos.delete(photoId(localId, i))
      resolve()
    }
    r.onerror = () => reject(r.error)
  }))
  changed(null)
}

/**
 * Send a failed (or auth_needed) item again with its same key, e.g. after the township fixed the catalogue.
 * @param {string} localId
 * @returns {Promise<object|null>} the item
 */
export async function retryItem(localId) {
  const item = await update(localId, (it) => {
    if (!RETRYABLE.has(it.state)) return undefined
    return { ...it, state: 'waiting', error: null, nextAttemptAt: 0 }
  })
  changed(item)
  return item
}

// ---- results ----

function toTenths(points) {
  const m = /^([+-])?(\d+)(?:\.(\d))?/.exec(String(points ?? '').trim())
  if (!m) return 0
  const v = Number(m[2]) * 10 + Number(m[3] || 0)
  return m[1] === '-' ? -v : v
}

/** Tenths as the API writes points: 25 → "+2.5", -10 → "-1.0", 0 → "0.0". */
export function pointsText(tenths) {
  const sign = tenths > 0 ? '+' : tenths < 0 ? '-' : ''
  const a = Math.abs(tenths)
  return `${sign}${Math.floor(a / 10)}.${a % 10}`
}

/** The item as the server's EventOut says. */
function withEvent(it, ev) {
  const base = { ...it, eventId: ev.id, serverStatus: ev.status, syncedAt: it.syncedAt || Date.now(),
    error: null, lastError: null, reviewReason: ev.review_reason || '' }
  const sum = (ev.entries || []).reduce((t, e) => t + toTenths(e.points), 0)
  switch (ev.status) {
    case 'counted':
      return { ...base, state: 'approved', points: pointsText(sum) }
    case 'skipped':
      return { ...base, state: 'approved', points: pointsText(0), skipped: true,
        reviewReason: ev.review_reason || '已登记，未计分' }
    case 'rejected':
      return { ...base, state: 'rejected', points: null,
        error: { code: 'EVENT_REJECTED', message_zh: ev.review_reason || '已驳回' } }
    default: // pending_review
      return { ...base, state: 'in_review', points: null }
  }
}

function errorOf(e) {
  if (e instanceof ApiError) return { code: e.code, message_zh: e.message_zh, status: e.status }
  if (e instanceof NetworkError) return { code: 'NETWORK', message_zh: e.message, reason: e.reason }
  return { code: 'CLIENT', message_zh: String(e?.message || e) }
}

function isTransient(e) {
  if (e instanceof NetworkError) return true
  if (e instanceof ApiError) return e.status === 408 || e.status === 429 || e.status >= 500
  return !(e instanceof PhotoMissing)
}

class PhotoMissing extends Error {}

function backoff(attempts) {
  const d = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1))
  return Math.round(d * (0.8 + Math.random() * 0.4))
}

// ---- sending ----

async function uploadPhotos(localId) {
  let item = await update(localId, () => undefined)
  for (const p of item.photos) {
    if (p.evidenceId) continue
    const row = await tx('photos', 'readonly', (s) => req(s.photos.get(photoId(localId, p.index))))
    if (!row) throw new PhotoMissing('照片已丢失，请删除后重新登记')
    const form = new FormData()
    form.append('data', new Blob([row.data], { type: row.type }), `photo-${p.index + 1}.jpg`)
    const out = await api('/api/v1/evidence', { method: 'POST', form })
    item = await update(localId, (it) => {
      it.photos[p.index].evidenceId = out.id
      return it
    })
    changed(item)
  }
  return item.photos.map((p) => p.evidenceId)
}

/** Send one item; returns 'sent' | 'failed' | 'waiting' | 'auth' | 'offline'. */
async function sendOne(localId) {
  let item = await update(localId, (it) => ({ ...it, state: 'syncing', attempts: it.attempts + 1,
    lastAttemptAt: Date.now() }))
  changed(item)
  try {
    const evidenceIds = await uploadPhotos(localId)
    const ev = await api('/api/v1/events', {
      method: 'POST',
      json: { idempotency_key: item.idempotencyKey, ...item.payload, evidence_ids: evidenceIds },
    })
    item = await tx(['queue', 'photos'], 'readwrite', (s) => new Promise((resolve, reject) => {
      const r = s.queue.get(localId)
      r.onsuccess = () => {
        const next = withEvent(r.result, ev)
        s.queue.put(next)
        for (let i = 0; i < next.photoCount; i++) s.photos.delete(photoId(localId, i))
        resolve(next)
      }
      r.onerror = () => reject(r.error)
    }))
    changed(item)
    return 'sent'
  } catch (e) {
    const err = errorOf(e)
    let outcome
    item = await update(localId, (it) => {
      if (e instanceof ApiError && e.status === 401) {
        outcome = 'auth'
        return { ...it, state: 'auth_needed', error: { code: err.code, message_zh: '登录已过期，请重新登录后同步' },
          lastError: err }
      }
      if (e instanceof ApiError && e.status === 409) {
        outcome = 'failed'
        return { ...it, state: 'conflict', error: { code: err.code, message_zh: err.message_zh }, lastError: err }
      }
      if (isTransient(e)) {
        outcome = e instanceof NetworkError || e?.status === 429 ? 'offline' : 'waiting'
        return { ...it, state: 'waiting', error: null, lastError: err, nextAttemptAt: Date.now() + backoff(it.attempts) }
      }
      outcome = 'failed'
      return { ...it, state: 'failed', error: { code: err.code, message_zh: err.message_zh }, lastError: err }
    })
    if (!(e instanceof ApiError || e instanceof NetworkError || e instanceof PhotoMissing)) console.error(e)
    changed(item)
    return outcome
  }
}

/** in_review items take their state from GET /api/v1/events/mine (matched by idempotency key). */
async function refreshStatuses(owner) {
  const open = new Map()
  for (const it of await allItems()) {
    if (it.state === 'in_review' && isMine(it, owner)) open.set(it.idempotencyKey, it.localId)
  }
  for (let page = 0; open.size && page < MINE_MAX_PAGES; page++) {
    let events
    try {
      events = await api('/api/v1/events/mine', { query: { limit: MINE_PAGE, offset: page * MINE_PAGE } })
    } catch {
      return // no signal or no session: try next time
    }
    for (const ev of events || []) {
      const localId = open.get(ev.idempotency_key)
      if (!localId) continue
      open.delete(ev.idempotency_key)
      if (ev.status === 'pending_review') continue
      const item = await update(localId, (it) => (it.state === 'in_review' ? withEvent(it, ev) : undefined))
      changed(item)
    }
    if (!events || events.length < MINE_PAGE) break
  }
}

/** Approved items are on the server for good: they leave the phone 30 days after they were synced. */
async function pruneApproved() {
  const cutoff = Date.now() - KEEP_APPROVED_MS
  const old = (await allItems()).filter((it) => it.state === 'approved' && it.syncedAt && it.syncedAt < cutoff)
  if (!old.length) return
  await tx(['queue', 'photos'], 'readwrite', (s) => {
    for (const it of old) {
      s.queue.delete(it.localId)
      for (let i = 0; i < it.photoCount; i++) s.photos.delete(photoId(it.localId, i))
    }
  })
  changed(null)
}

async function pass({ respectBackoff = false } = {}) {
  const summary = { sent: 0, failed: 0, waiting: 0 }
  const session = getSession()
  const owner = currentOwner()
  const mine = (await allItems()).filter((it) => isMine(it, owner))
  const todo = mine.filter((it) => SENDABLE.has(it.state)).sort((a, b) => a.createdAt - b.createdAt)
  if (session) {
    const now = Date.now()
    let stop = null
    for (const it of todo) {
      if (stop === 'auth') {
        const item = await update(it.localId, (x) => ({ ...x, state: 'auth_needed' }))
        changed(item)
        continue
      }
      if (stop) break
      if (respectBackoff && it.state !== 'auth_needed' && it.nextAttemptAt > now) continue
      const outcome = await sendOne(it.localId)
      if (outcome === 'sent') summary.sent++
      else if (outcome === 'failed') summary.failed++
      else if (outcome === 'auth' || outcome === 'offline') stop = outcome
    }
    if (!stop) await refreshStatuses(owner)
  }
  await pruneApproved()
  summary.waiting = (await allItems()).filter((it) => isMine(it, owner) && SENDABLE.has(it.state)).length
  return summary
}

function locked(fn) {
  const locks = globalThis.navigator?.locks
  // Two tabs never send together (the idempotency key makes a double send harmless anyway).
  return locks && typeof locks.request === 'function' ? locks.request('cunxin-sync', fn) : fn()
}

let running = null
let rerun = null

/**
 * One sync pass: photos first (POST /api/v1/evidence, field `data`, each id saved at once), then
 * POST /api/v1/events with the item's key, then in_review items refreshed from GET /api/v1/events/mine.
 * Never runs twice at once: a call during a pass waits for it and then runs one more pass (so an item added
 * meanwhile is sent).
 * @param {{respectBackoff?: boolean}} [opts] respectBackoff: skip items whose next attempt time is not yet due
 *   (the 60 s timer); a user's tap sends everything at once.
 * @returns {Promise<{sent: number, failed: number, waiting: number}>} sent / failed (incl. conflict) in this
 *   pass; waiting: items still to send afterwards
 */
export function syncNow(opts = {}) {
  if (!running) {
    running = locked(() => pass(opts)).finally(() => { running = null; scheduleTimer() })
    return running
  }
  if (!rerun) {
    rerun = running.catch(() => {}).then(() => { rerun = null; return syncNow(opts) })
  }
  return rerun
}

// ---- automatic sync ----

const auto = { started: false, timer: null }

function kick(opts) {
  syncNow(opts).catch((e) => console.error(e))
}

async function scheduleTimer() {
  if (!auto.started) return
  let work = false
  try {
    const owner = currentOwner()
    work = (await allItems()).some((it) => isMine(it, owner) && SENDABLE.has(it.state))
  } catch { /* the database went away */ }
  if (work && !auto.timer) auto.timer = setInterval(() => kick({ respectBackoff: true }), AUTO_INTERVAL_MS)
  if (!work && auto.timer) { clearInterval(auto.timer); auto.timer = null }
}

const onOnline = () => kick()
const onVisible = () => { if (document.visibilityState === 'visible') kick() }
let unsubscribeSession = null

/**
 * Sync by itself: when the phone comes online, when the page becomes visible, after login, after enqueue,
 * and every 60 s while there is something to send. Safe to call twice.
 */
export function startAutoSync() {
  if (auto.started) return
  auto.started = true
  if (typeof window !== 'undefined') window.addEventListener('online', onOnline)
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible)
  unsubscribeSession = onSessionChange((s) => { if (s) kick() })
  kick()
}

/** Undo startAutoSync (tests, logout). */
export function stopAutoSync() {
  if (!auto.started) return
  auto.started = false
  if (typeof window !== 'undefined') window.removeEventListener('online', onOnline)
  if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible)
  if (unsubscribeSession) unsubscribeSession()
  unsubscribeSession = null
  if (auto.timer) clearInterval(auto.timer)
  auto.timer = null
}
