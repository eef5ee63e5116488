import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { freshWorld, loadApp } from './fakes.js'

let server
let app

beforeEach(async () => {
  server = freshWorld()
  app = await loadApp()
})

afterEach(() => vi.useRealTimers())

describe('api client', () => {
  it('login stores the session in localStorage; api sends the bearer token; logout forgets it', async () => {
    const seen = []
    app.client.onSessionChange((s) => seen.push(s && s.accessToken))
    const session = await app.client.login('grid1', 'pw')
    expect(session).toMatchObject({ accessToken: 'A1', refreshToken: 'R1', role: 'grid_worker', username: 'grid1' })
    expect(session.expiresAt).toBeGreaterThan(Date.now())
    expect(JSON.parse(localStorage.getItem('cunxin.session')).accessToken).toBe('A1')
    const me = await app.client.loadMe()
    expect(me.username).toBe('grid1')
    expect(app.client.getSession().me).toEqual(me)
    expect(server.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/me', auth: 'Bearer A1' })
    app.client.logout()
    expect(app.client.getSession()).toBeNull()
    expect(seen).toEqual(['A1', null])
    await vi.waitFor(() => expect(server.delivered('POST /api/v1/auth/logout')).toHaveLength(1))
  })

  it('a JSON error is an ApiError with code and message_zh; a wrong password too', async () => {
    const e = await app.client.login('grid1', 'nope').catch((x) => x)
    expect(e).toBeInstanceOf(app.client.ApiError)
    expect(e).toMatchObject({ status: 401, code: 'AUTH_BAD_CREDENTIALS', message_zh: '用户名或密码错误',
      message: '用户名或密码错误' })
    expect(app.client.getSession()).toBeNull()
    await app.client.login('grid1', 'pw')
    const nf = await app.client.api('/api/v1/nothing', { query: { a: 1, b: null } }).catch((x) => x)
    expect(nf).toMatchObject({ status: 404, code: 'NOT_FOUND', message_zh: '未找到' })
    expect(server.calls.at(-1).query).toEqual({ a: '1' })
  })

  it('fetch throwing is a NetworkError; 204 is null', async () => {
    await app.client.login('grid1', 'pw')
    server.offline = true
    const e = await app.client.api('/api/v1/auth/me').catch((x) => x)
    expect(e).toBeInstanceOf(app.client.NetworkError)
    expect(e.reason).toBe('offline')
    server.offline = false
    expect(await app.client.api('/api/v1/auth/logout', { method: 'POST' })).toBeNull()
  })

  it('times out after 20 s as a NetworkError', async () => {
    await app.client.login('grid1', 'pw')
    vi.useFakeTimers()
    server.hook(() => 'hang')
    const p = app.client.api('/api/v1/auth/me').catch((x) => x)
    await vi.advanceTimersByTimeAsync(19000)
    expect(server.hanging).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1500)
    const e = await p
    expect(e).toBeInstanceOf(app.client.NetworkError)
    expect(e.reason).toBe('timeout')
  })

  it('concurrent 401s refresh once (refresh tokens rotate) and both retry', async () => {
    await app.client.login('grid1', 'pw')
    server.expireAccess()
    const [a, b] = await Promise.all([app.client.api('/api/v1/auth/me'), app.client.api('/api/v1/auth/me')])
    expect(a.username).toBe('grid1')
    expect(b.username).toBe('grid1')
    expect(server.delivered('POST /api/v1/auth/refresh')).toHaveLength(1)
    expect(app.client.getSession()).toMatchObject({ accessToken: 'A2', refreshToken: 'R2', username: 'grid1' })
  })

  it('a failed refresh clears the session and tells listeners null', async () => {
    await app.client.login('grid1', 'pw')
    const seen = []
    app.client.onSessionChange((s) => seen.push(s))
    server.expireAll()
    const e = await app.client.api('/api/v1/auth/me').catch((x) => x)
    expect(e).toMatchObject({ status: 401 })
    expect(app.client.getSession()).toBeNull()
    expect(seen).toEqual([null])
    expect(server.delivered('GET /api/v1/auth/me')).toHaveLength(1) // not retried without a token
  })

  it('a refresh without signal keeps the session', async () => {
    await app.client.login('grid1', 'pw')
    server.expireAccess()
    server.hook((c) => (c.path === '/api/v1/auth/refresh' ? 'lose' : undefined))
    const e = await app.client.api('/api/v1/auth/me').catch((x) => x)
    expect(e).toBeInstanceOf(app.client.NetworkError)
    expect(app.client.getSession()).not.toBeNull()
  })

  it('multipart: the FormData goes as the body without a JSON content type', async () => {
    await app.client.login('grid1', 'pw')
    const form = new FormData()
    form.append('data', new Blob(['abc'], { type: 'image/jpeg' }), 'p.jpg')
    const out = await app.client.api('/api/v1/evidence', { method: 'POST', form })
    expect(out).toEqual({ id: server.evidence[0].id, status: 'pending' })
    expect(server.fetch.mock.calls.at(-1)[1].headers['Content-Type']).toBeUndefined()
  })

  it('apiBlob returns a Blob with the bearer token', async () => {
    await app.client.login('grid1', 'pw')
    server.hook((c) => (c.path === '/api/v1/evidence/5/thumbnail' && c.auth === 'Bearer A1'
      ? new Response(new Blob(['jpegbytes'], { type: 'image/jpeg' }), { status: 200 }) : undefined))
    const blob = await app.client.apiBlob('/api/v1/evidence/5/thumbnail')
    expect(blob.size).toBe(9)
    expect(await blob.text()).toBe('jpegbytes')
  })
})
