// Test doubles: a fake API server behind a fake fetch (it records every call and keeps events by idempotency
// key, as the real one does), and an in-memory localStorage.

import { vi } from 'vitest'
import { IDBFactory } from 'fake-indexeddb'

const json = (status, body) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  })

const err = (status, code, zh) => json(status, { code, message_zh: zh, message_en: code, details: {} })

/** A Storage-like object kept in memory. */
export function memoryStorage() {
  const m = new Map()
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    clear: () => m.clear(),
  }
}

/**
 * The fake server. `server.offline = true` makes fetch throw like a phone without signal. `server.hook(fn)`
 * adds a one-off interceptor: fn(call) returns a Response, 'lose' (handle normally, then throw as if the answer
 * was lost), 'hang' (never answer until aborted), or undefined (not this call: stays installed).
 */
export function fakeServer() {
  let nextId = 100
  let tokenSeq = 0
  const s = {
    offline: false,
    calls: [], // every fetch attempt: {method, path, query, auth, json, form, delivered}
    events: new Map(), // idempotency_key → {event, payload}
    evidence: [], // {id, size, type, name}
    access: new Set(),
    refresh: new Set(),
    users: { grid1: 'pw', grid2: 'pw2' },
    roster: null,
    catalogue: null,
    hooks: [],
    hanging: [],
    /** Fail every request left hanging. */
    release() { s.hanging.splice(0).forEach((f) => f()) },
    hook(fn) { s.hooks.push(fn) },
    /** Calls that reached the server, filtered by "METHOD /path". */
    delivered(route) {
      return s.calls.filter((c) => c.delivered && `${c.method} ${c.path}` === route)
    },
    expireAccess() { s.access.clear() },
    expireAll() { s.access.clear(); s.refresh.clear() },
    /** The township decides an event. */
    decide(key, status, { entries = [], reason = '' } = {}) {
      const row = s.events.get(key)
      row.event = { ...row.event, status, review_reason: reason, entries }
    },
    /** Which status a new event gets (by item code); pending_review by default. */
    statusFor: () => 'pending_review',
    fetch: vi.fn(async (url, init = {}) => {
      const u = new URL(url, 'http://phone.test')
      const call = {
        method: init.method || 'GET',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        auth: init.headers?.Authorization || null,
        json: typeof init.body === 'string' ? JSON.parse(init.body) : null,
        form: init.body instanceof FormData ? init.body : null,
        delivered: false,
      }
      s.calls.push(call)
      if (s.offline) throw new TypeError('Failed to fetch')
      let lose = false
      for (let i = 0; i < s.hooks.length; i++) {
        const out = s.hooks[i](call)
        if (out === undefined) continue
        s.hooks.splice(i, 1)
        if (out === 'hang') {
          call.delivered = true
          return new Promise((_, reject) => {
            const fail = () => reject(new DOMException('aborted', 'AbortError'))
            init.signal?.addEventListener('abort', fail)
            s.hanging.push(fail)
          })
        }
        if (out === 'lose') { lose = true; break }
        call.delivered = true
        return out
      }
      call.delivered = true
      const res = await handle(call)
      if (lose) throw new DOMException('The operation was aborted.', 'AbortError')
      return res
    }),
  }

  function issue(role = 'grid_worker') {
    tokenSeq++
    const t = { access_token: `A${tokenSeq}`, refresh_token: `R${tokenSeq}`, expires_in: 900, role }
    s.access.add(t.access_token)
    s.refresh.add(t.refresh_token)
    return t
  }

  async function handle(c) {
    const route = `${c.method} ${c.path}`
    if (route === 'POST /api/v1/auth/login') {
      if (s.users[c.json.username] !== c.json.password) return err(401, 'AUTH_BAD_CREDENTIALS', '用户名或密码错误')
      return json(200, issue())
    }
    if (route === 'POST /api/v1/auth/refresh') {
      if (!s.refresh.has(c.json.refresh_token)) return err(401, 'AUTH_REFRESH_INVALID', '登录已失效，请重新登录')
      s.refresh.delete(c.json.refresh_token) // rotated
      return json(200, issue())
    }
    const token = c.auth?.replace(/^Bearer /, '')
    if (!token || !s.access.has(token)) return err(401, 'AUTH_REQUIRED', '请先登录')
    if (route === 'POST /api/v1/auth/logout') { s.access.delete(token); return json(204) }
    if (route === 'GET /api/v1/auth/me') return json(200, { role: 'grid_worker', username: 'grid1', grid_ids: [1] })
    if (route === 'GET /api/v1/me/roster') return json(200, s.roster)
    if (route === 'GET /api/v1/me/catalogue') return json(200, s.catalogue)
    if (route === 'POST /api/v1/evidence') {
      const file = c.form?.get('data')
      if (!file) return err(422, 'EVIDENCE_FIELD_MISSING', '请以 multipart 字段 data 上传照片文件')
      const id = nextId++
      s.evidence.push({ id, size: file.size, type: file.type, name: file.name })
      return json(202, { id, status: 'pending' })
    }
    if (route === 'POST /api/v1/events') {
      const { idempotency_key: key, ...payload } = c.json
      const same = JSON.stringify(payload)
      const old = s.events.get(key)
      if (old) {
        if (old.payload !== same) return err(409, 'LEDGER_IDEMPOTENCY_CONFLICT', '该幂等键已用于另一条不同的事件')
        return json(200, old.event)
      }
      const event = { id: nextId++, idempotency_key: key, status: s.statusFor(payload.item_code),
        review_reason: '', item_code: payload.item_code, subject_kind: payload.subject_kind,
        subject_id: payload.subject_id, evidence_ids: payload.evidence_ids, entries: [] }
      if (event.status === 'counted') event.entries = [{ points: '+2.0', explanation_zh: '好人好事+2分' }]
      s.events.set(key, { event, payload: same })
      return json(201, event)
    }
    if (route === 'GET /api/v1/events/mine') {
      const all = [...s.events.values()].map((r) => r.event).reverse()
      const offset = Number(c.query.offset || 0)
      return json(200, all.slice(offset, offset + Number(c.query.limit || 50)))
    }
    return err(404, 'NOT_FOUND', '未找到')
  }

  return s
}

/** A fresh browser-ish world: empty IndexedDB, empty localStorage, the fake server as fetch. */
export function freshWorld() {
  globalThis.indexedDB = new IDBFactory()
  globalThis.localStorage = memoryStorage()
  const server = fakeServer()
  globalThis.fetch = server.fetch
  return server
}

/** The app's modules, freshly imported (after vi.resetModules(): a page opened anew). */
export async function loadApp() {
  vi.resetModules()
  return {
    client: await import('../../src/api/client.js'),
    db: await import('../../src/offline/db.js'),
    queue: await import('../../src/offline/queue.js'),
    cache: await import('../../src/offline/cache.js'),
  }
}

/** Close the page: the database connection and all module state go; IndexedDB and localStorage stay. */
export async function reopen(app) {
  await app.db.closeDb()
  return loadApp()
}

export const EVENT = {
  item_code: 'G-VOLUNTEER',
  subject_kind: 'person',
  subject_id: 42,
  occurred_on: '2026-03-01',
  note: '帮助孤寡老人',
  display: { subject_name: '张三', item_name_zh: '志愿服务' },
}
