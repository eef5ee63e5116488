// The one way the app talks to the API (same origin, /api/v1/...): JSON in and out, the bearer token,
// one refresh on a 401, a timeout, and errors as ApiError (the server answered) or NetworkError (it did not).

const SESSION_KEY = 'cunxin.session'
const TIMEOUT_MS = 20000

/** The server answered with a status ≥ 400; `message` is the Chinese message to show. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {{code?: string, message_zh?: string, message_en?: string, details?: any}} body the parsed error body
   */
  constructor(status, body = {}) {
    const zh = body.message_zh || `服务器返回错误（${status}）`
    super(zh)
    this.name = 'ApiError'
    /** @type {number} */ this.status = status
    /** @type {string} */ this.code = body.code || `HTTP_${status}`
    /** @type {string} */ this.message_zh = zh
    /** @type {string} */ this.message_en = body.message_en || `HTTP ${status}`
    /** @type {any} */ this.details = body.details ?? {}
  }
}

/** fetch itself failed: no signal, the server unreachable, or the request timed out / was aborted. */
export class NetworkError extends Error {
  /**
   * @param {'offline'|'timeout'|'aborted'} reason why
   * @param {unknown} [cause] the underlying error
   */
  constructor(reason = 'offline', cause) {
    super(reason === 'timeout' ? '网络超时，请稍后重试' : '网络不可用，请检查信号')
    this.name = 'NetworkError'
    /** @type {'offline'|'timeout'|'aborted'} */ this.reason = reason
    this.cause = cause
  }
}

// ---- session (localStorage; an in-memory stand-in where there is none) ----

const memoryStore = new Map()
function store() {
  try {
    if (globalThis.localStorage) return globalThis.localStorage
  } catch { /* storage disabled (private mode): fall back to memory */ }
  return {
    getItem: (k) => (memoryStore.has(k) ? memoryStore.get(k) : null),
    setItem: (k, v) => memoryStore.set(k, String(v)),
    removeItem: (k) => memoryStore.delete(k),
  }
}

const listeners = new Set()

function notify(session) {
  for (const fn of [...listeners]) {
    try { fn(session) } catch (e) { console.error(e) }
  }
}

/**
 * The stored session or null.
 * @returns {{accessToken: string, refreshToken: string|null, role: string, expiresAt: number, username?: string, me: object|null} | null}
 */
export function getSession() {
  try {
    const raw = store().getItem(SESSION_KEY)
    return raw ? JSON.parse(raw) : null
  } catch {
    return null
  }
}

function saveSession(session) {
  if (session) store().setItem(SESSION_KEY, JSON.stringify(session))
  else store().removeItem(SESSION_KEY)
}

function sessionFromTokens(tokens, previous) {
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token || previous?.refreshToken || null,
    role: tokens.role,
    expiresAt: Date.now() + (tokens.expires_in || 0) * 1000,
    username: previous?.username,
    me: previous?.me ?? null,
  }
}

/**
 * Listen to session changes: called with the session after login and refresh, null after logout or when the
 * refresh token stopped working.
 * @param {(session: object|null) => void} fn
 * @returns {() => void} unsubscribe
 */
export function onSessionChange(fn) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

/**
 * Log in (POST /api/v1/auth/login) and store the session. Throws ApiError (e.g. 401 wrong password, 429
 * throttled) or NetworkError.
 * @param {string} username
 * @param {string} password
 * @returns {Promise<object>} the session
 */
export async function login(username, password) {
  const tokens = await request('/api/v1/auth/login', { method: 'POST', json: { username, password } }, null)
  const session = sessionFromTokens(tokens, { username })
  saveSession(session)
  notify(session)
  return session
}

/** Forget the session at once; tell the server to end it (best effort, never throws). */
export function logout() {
  const session = getSession()
  saveSession(null)
  notify(null)
  if (session?.accessToken) {
    request('/api/v1/auth/logout', { method: 'POST' }, session.accessToken).catch(() => {})
  }
}

/**
 * GET /api/v1/auth/me, saved in session.me.
 * @returns {Promise<{role: string, username: string, county_id: number|null, township_id: number|null,
 *   person_id: number|null, household_id: number|null, grid_ids: number[]}>}
 */
export async function loadMe() {
  const me = await api('/api/v1/auth/me')
  const session = getSession()
  if (session) saveSession({ ...session, me, username: session.username || me.username })
  return me
}

// ---- requests ----

function buildUrl(path, query) {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.append(k, String(v))
  }
  const qs = params.toString()
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path
}

/** One fetch with a timeout; returns the Response or throws NetworkError. */
async function send(path, { method = 'GET', json, form, query, signal } = {}, token, accept = 'application/json') {
  const headers = { Accept: accept }
  let body
  if (form !== undefined) body = form
  else if (json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(json)
  }
  if (token) headers.Authorization = `Bearer ${token}`
  const ctrl = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; ctrl.abort() }, TIMEOUT_MS)
  const onAbort = () => ctrl.abort()
  if (signal) {
    if (signal.aborted) ctrl.abort()
    else signal.addEventListener('abort', onAbort, { once: true })
  }
  try {
    return await fetch(buildUrl(path, query), { method, headers, body, signal: ctrl.signal, credentials: 'same-origin' })
  } catch (e) {
    throw new NetworkError(timedOut ? 'timeout' : (ctrl.signal.aborted ? 'aborted' : 'offline'), e)
  } finally {
    clearTimeout(timer)
    if (signal) signal.removeEventListener('abort', onAbort)
  }
}

async function errorFrom(res) {
  let body = {}
  try {
    const parsed = await res.json()
    if (parsed && typeof parsed === 'object') body = parsed
  } catch { /* not JSON (a proxy's error page) */ }
  return new ApiError(res.status, body)
}

async function parse(res) {
  if (res.status === 204) return null
  const text = await res.text()
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A request without the refresh logic; `token` is sent as the bearer. */
async function request(path, opts, token) {
  const res = await send(path, opts, token)
  if (!res.ok) throw await errorFrom(res)
  return parse(res)
}

let refreshing = null

/**
 * Exchange the refresh token once (shared by concurrent callers: the server rotates refresh tokens, so two
 * refreshes with one token would end the session). Resolves the new session; rejects with ApiError when the
 * token no longer works (the session is then cleared) or NetworkError (the session is kept).
 */
function refreshSession(used) {
  if (!refreshing) {
    refreshing = (async () => {
      const current = getSession()
      // Another tab (or an earlier call) already refreshed: use its token.
      if (current && current.accessToken !== used.accessToken) return current
      if (!current?.refreshToken) throw new ApiError(401, { code: 'AUTH_REQUIRED', message_zh: '请重新登录' })
      try {
        const tokens = await request('/api/v1/auth/refresh', { method: 'POST', json: { refresh_token: current.refreshToken } }, null)
        const session = sessionFromTokens(tokens, current)
        saveSession(session)
        notify(session)
        return session
      } catch (e) {
        if (e instanceof ApiError) {
          const now = getSession()
          if (now && now.refreshToken !== current.refreshToken) return now // another tab won the race
          saveSession(null)
          notify(null)
        }
        throw e
      }
    })().finally(() => { refreshing = null })
  }
  return refreshing
}

async function authorized(path, opts) {
  const session = getSession()
  let res = await send(path, opts, session?.accessToken, opts.accept)
  if (res.status === 401 && session) {
    let fresh
    try {
      fresh = await refreshSession(session)
    } catch (e) {
      if (e instanceof NetworkError) throw e
      throw await errorFrom(res)
    }
    res = await send(path, opts, fresh.accessToken, opts.accept)
    if (res.status === 401) {
      // The new token was refused too: the account is no longer allowed in.
      saveSession(null)
      notify(null)
    }
  }
  if (!res.ok) throw await errorFrom(res)
  return res
}

/**
 * Call the API. JSON in (`json`) or multipart (`form`, a FormData); `query` an object of query parameters.
 * Adds `Authorization: Bearer`; on a 401 refreshes once and retries. Throws ApiError (status ≥ 400, body
 * parsed) or NetworkError.
 * @param {string} path e.g. '/api/v1/events/mine'
 * @param {{method?: string, json?: any, form?: FormData, query?: object, signal?: AbortSignal}} [opts]
 * @returns {Promise<any>} the parsed JSON, or null for 204 / an empty body
 */
export async function api(path, { method = 'GET', json, form, query, signal } = {}) {
  const res = await authorized(path, { method, json, form, query, signal })
  return parse(res)
}

/**
 * GET an image (or any binary) with the bearer token, e.g. /api/v1/evidence/{id}/thumbnail.
 * @param {string} path
 * @returns {Promise<Blob>}
 */
export async function apiBlob(path) {
  const res = await authorized(path, { method: 'GET', accept: '*/*' })
  return res.blob()
}
