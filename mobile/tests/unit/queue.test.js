import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EVENT, freshWorld, loadApp, reopen } from './fakes.js'

let server
let app

beforeEach(async () => {
  server = freshWorld()
  app = await loadApp()
  await app.client.login('grid1', 'pw')
})

afterEach(async () => {
  app.queue.stopAutoSync()
  await app.db.closeDb()
  delete globalThis.navigator
})

const only = async () => {
  const items = await app.queue.listQueue()
  expect(items).toHaveLength(1)
  return items[0]
}

describe('offline, then online', () => {
  it('keeps an event waiting while fetch throws, then sends it exactly once', async () => {
    const stored = await app.queue.enqueue(EVENT)
    expect(stored.state).toBe('waiting')
    server.offline = true
    for (let i = 1; i <= 3; i++) {
      const r = await app.queue.syncNow()
      expect(r).toEqual({ sent: 0, failed: 0, waiting: 1 })
      const item = await only()
      expect(item.state).toBe('waiting')
      expect(item.attempts).toBe(i)
      expect(item.error).toBeNull()
      expect(item.lastError.code).toBe('NETWORK')
      expect(item.nextAttemptAt).toBeGreaterThan(Date.now())
      expect(item.idempotencyKey).toBe(stored.idempotencyKey)
    }
    expect(server.delivered('POST /api/v1/events')).toHaveLength(0)

    server.offline = false
    const first = await app.queue.syncNow()
    expect(first).toEqual({ sent: 1, failed: 0, waiting: 0 })
    await app.queue.syncNow()
    await Promise.all([app.queue.syncNow(), app.queue.syncNow(), app.queue.syncNow()])

    const posts = server.delivered('POST /api/v1/events')
    expect(posts).toHaveLength(1)
    expect(posts[0].json).toMatchObject({ idempotency_key: stored.idempotencyKey, item_code: 'G-VOLUNTEER',
      subject_kind: 'person', subject_id: 42, occurred_on: '2026-03-01', note: '帮助孤寡老人', evidence_ids: [] })
    expect(server.events.size).toBe(1)
    const item = await only()
    expect(item.state).toBe('in_review')
    expect(item.eventId).toBe(server.events.get(stored.idempotencyKey).event.id)
    expect(item.syncedAt).toBeTypeOf('number')
  })

  it('a concurrent double syncNow on a fresh item posts once', async () => {
    const stored = await app.queue.enqueue(EVENT)
    const [a, b] = await Promise.all([app.queue.syncNow(), app.queue.syncNow()])
    expect(a.sent + b.sent).toBe(1)
    expect(server.delivered('POST /api/v1/events').map((c) => c.json.idempotency_key)).toEqual([stored.idempotencyKey])
  })

  it('respectBackoff skips an item whose next attempt is not due', async () => {
    await app.queue.enqueue(EVENT)
    server.offline = true
    await app.queue.syncNow()
    server.offline = false
    const r = await app.queue.syncNow({ respectBackoff: true })
    expect(r.sent).toBe(0)
    expect(server.delivered('POST /api/v1/events')).toHaveLength(0)
    expect((await only()).attempts).toBe(1)
  })

  it('runs the pass under navigator.locks when there is one', async () => {
    const request = vi.fn((name, fn) => fn())
    globalThis.navigator = { locks: { request } }
    await app.queue.enqueue(EVENT)
    await app.queue.syncNow()
    expect(request).toHaveBeenCalledTimes(1)
    expect(request.mock.calls[0][0]).toBe('cunxin-sync')
    expect(server.events.size).toBe(1)
  })
})

describe('the answer was lost', () => {
  it('retries with the same key, across a re-opened page, and the server keeps one event', async () => {
    const stored = await app.queue.enqueue(EVENT)
    // The server records the event, but the phone never hears back.
    server.hook((c) => (c.method === 'POST' && c.path === '/api/v1/events' ? 'lose' : undefined))
    await app.queue.syncNow()
    expect(server.events.size).toBe(1)
    let item = await only()
    expect(item.state).toBe('waiting')
    expect(item.attempts).toBe(1)

    app = await reopen(app) // the browser was closed and opened again
    item = await only()
    expect(item.idempotencyKey).toBe(stored.idempotencyKey)
    expect(item.state).toBe('waiting')

    const r = await app.queue.syncNow()
    expect(r.sent).toBe(1)
    const keys = server.delivered('POST /api/v1/events').map((c) => c.json.idempotency_key)
    expect(keys).toEqual([stored.idempotencyKey, stored.idempotencyKey])
    expect(server.events.size).toBe(1)
    item = await only()
    expect(item.state).toBe('in_review')
    expect(item.eventId).toBe(server.events.get(stored.idempotencyKey).event.id)
  })

  it('a page closed mid-sync (item left "syncing") is sent on the next open', async () => {
    const stored = await app.queue.enqueue(EVENT)
    server.hook((c) => (c.path === '/api/v1/events' ? 'hang' : undefined))
    const pending = app.queue.syncNow() // never finishes: the page goes away
    await vi.waitFor(async () => expect((await only()).state).toBe('syncing'))
    app = await reopen(app)
    await app.queue.syncNow()
    expect((await only()).state).toBe('in_review')
    expect(server.delivered('POST /api/v1/events').map((c) => c.json.idempotency_key))
      .toEqual([stored.idempotencyKey, stored.idempotencyKey])
    expect(server.events.size).toBe(1)
    server.release() // the old page's request finally fails; its module is gone
    await pending.catch(() => {})
  })

  it('makes a different key for every event', async () => {
    const a = await app.queue.enqueue(EVENT)
    const b = await app.queue.enqueue(EVENT)
    expect(a.idempotencyKey).not.toBe(b.idempotencyKey)
    expect(a.idempotencyKey).toMatch(/^[A-Za-z0-9_.:-]{8,64}$/)
  })
})

describe('photos', () => {
  const photos = () => [new Blob(['first-photo'], { type: 'image/jpeg' }), new Blob(['second!'], { type: 'image/jpeg' })]

  it('are uploaded once; a retry after the event POST failed reuses their ids', async () => {
    await app.queue.enqueue({ ...EVENT, photos: photos() })
    // The event POST fails after the photos went (503), then its answer is lost once (stored on the server).
    server.hook((c) => (c.path === '/api/v1/events' ? new Response('', { status: 503 }) : undefined))
    server.hook((c) => (c.path === '/api/v1/events' ? 'lose' : undefined))
    await app.queue.syncNow()
    expect(server.evidence.map((e) => e.size)).toEqual([11, 7])
    const ids = server.evidence.map((e) => e.id)
    let item = await only()
    expect(item.state).toBe('waiting')
    expect(item.photos.map((p) => p.evidenceId)).toEqual(ids)
    expect(server.events.size).toBe(0)

    app = await reopen(app)
    await app.queue.syncNow() // the lost answer: stored on the server
    await app.queue.syncNow() // the replay
    expect(server.delivered('POST /api/v1/evidence')).toHaveLength(2)
    const posts = server.delivered('POST /api/v1/events')
    expect(posts).toHaveLength(3)
    for (const p of posts) expect(p.json.evidence_ids).toEqual(ids)
    expect(server.events.size).toBe(1)
    item = await only()
    expect(item.state).toBe('in_review')
    expect(await app.queue.getPhotos(item.localId)).toEqual([]) // dropped once the event is on the server
  })

  it('a photo that made it is not sent again when the next one fails', async () => {
    const item0 = await app.queue.enqueue({ ...EVENT, photos: photos() })
    expect((await app.queue.getPhotos(item0.localId)).map((b) => b.size)).toEqual([11, 7])
    let n = 0
    server.hook((c) => (c.path === '/api/v1/evidence' && ++n === 2 ? 'lose' : undefined))
    await app.queue.syncNow()
    expect(server.delivered('POST /api/v1/events')).toHaveLength(0)
    let item = await only()
    expect(item.photos[0].evidenceId).toBe(server.evidence[0].id)
    expect(item.photos[1].evidenceId).toBeNull()

    await app.queue.syncNow()
    // photo 1 once, photo 2 twice (the first answer was lost: the server has an orphan copy)
    expect(server.delivered('POST /api/v1/evidence').map((c) => c.form.get('data').size)).toEqual([11, 7, 7])
    item = await only()
    expect(item.state).toBe('in_review')
    expect(server.delivered('POST /api/v1/events')[0].json.evidence_ids)
      .toEqual([server.evidence[0].id, server.evidence[2].id])
  })
})

describe('answers that end an item', () => {
  it('409: conflict, never retried', async () => {
    const stored = await app.queue.enqueue(EVENT)
    // The key is already on the server with other content.
    server.events.set(stored.idempotencyKey, { event: { id: 1 }, payload: '{"other":true}' })
    const r = await app.queue.syncNow()
    expect(r).toEqual({ sent: 0, failed: 1, waiting: 0 })
    let item = await only()
    expect(item.state).toBe('conflict')
    expect(item.error.code).toBe('LEDGER_IDEMPOTENCY_CONFLICT')
    await app.queue.syncNow()
    await app.queue.syncNow()
    expect(server.delivered('POST /api/v1/events')).toHaveLength(1)
    item = await only()
    expect(item.state).toBe('conflict')
    expect(item.attempts).toBe(1)
  })

  it('422: failed with the server message, never retried; retryItem sends it again with its key', async () => {
    const stored = await app.queue.enqueue(EVENT)
    server.hook((c) => (c.path === '/api/v1/events'
      ? new Response(JSON.stringify({ code: 'LEDGER_FUTURE_EVENT', message_zh: '事件日期不能晚于今天', message_en: 'x' }),
        { status: 422, headers: { 'content-type': 'application/json' } })
      : undefined))
    await app.queue.syncNow()
    await app.queue.syncNow()
    let item = await only()
    expect(item.state).toBe('failed')
    expect(item.error).toEqual({ code: 'LEDGER_FUTURE_EVENT', message_zh: '事件日期不能晚于今天' })
    expect(server.delivered('POST /api/v1/events')).toHaveLength(1)

    await app.queue.retryItem(item.localId)
    await app.queue.syncNow()
    item = await only()
    expect(item.state).toBe('in_review')
    expect(server.delivered('POST /api/v1/events').map((c) => c.json.idempotency_key))
      .toEqual([stored.idempotencyKey, stored.idempotencyKey])
  })

  it('403 and 404: failed', async () => {
    await app.queue.enqueue(EVENT)
    await app.queue.enqueue({ ...EVENT, subject_id: 43 })
    server.hook((c) => (c.path === '/api/v1/events'
      ? new Response(JSON.stringify({ code: 'LEDGER_ITEM_NOT_ALLOWED', message_zh: '该角色不能登记该事项' }),
        { status: 403, headers: { 'content-type': 'application/json' } })
      : undefined))
    server.hook((c) => (c.path === '/api/v1/events'
      ? new Response(JSON.stringify({ code: 'NOT_FOUND', message_zh: '未找到' }), { status: 404 })
      : undefined))
    const r = await app.queue.syncNow()
    expect(r).toEqual({ sent: 0, failed: 2, waiting: 0 })
    const states = (await app.queue.listQueue()).map((i) => [i.state, i.error.code])
    expect(states.sort()).toEqual([['failed', 'LEDGER_ITEM_NOT_ALLOWED'], ['failed', 'NOT_FOUND']])
  })

  it('5xx, 408 and 429: still waiting, attempts grow, then it goes', async () => {
    await app.queue.enqueue(EVENT)
    for (const status of [502, 500, 408, 429]) {
      server.hook((c) => (c.path === '/api/v1/events' ? new Response('<html>bad gateway</html>', { status }) : undefined))
    }
    for (let i = 1; i <= 4; i++) {
      await app.queue.syncNow()
      const item = await only()
      expect(item.state).toBe('waiting')
      expect(item.attempts).toBe(i)
      expect(item.error).toBeNull()
    }
    expect((await only()).lastError.code).toBe('HTTP_429')
    await app.queue.syncNow()
    expect((await only()).state).toBe('in_review')
    expect(server.events.size).toBe(1)
  })

  it('removeItem refuses an unsent item and drops a failed one with its photos', async () => {
    const item = await app.queue.enqueue({ ...EVENT, photos: [new Blob(['x'], { type: 'image/jpeg' })] })
    await expect(app.queue.removeItem(item.localId)).rejects.toThrow()
    expect(await app.queue.listQueue()).toHaveLength(1)
    server.hook((c) => (c.path === '/api/v1/evidence'
      ? new Response(JSON.stringify({ code: 'EVIDENCE_BAD_FORMAT', message_zh: '不支持的图片格式' }), { status: 415 })
      : undefined))
    await app.queue.syncNow()
    expect((await only()).state).toBe('failed')
    await app.queue.removeItem(item.localId)
    expect(await app.queue.listQueue()).toEqual([])
    expect(await app.queue.getPhotos(item.localId)).toEqual([])
  })
})

describe('a token that expired while offline', () => {
  it('401 → refresh succeeds → retried and synced', async () => {
    await app.queue.enqueue(EVENT)
    const before = app.client.getSession().accessToken
    server.expireAccess()
    const r = await app.queue.syncNow()
    expect(r.sent).toBe(1)
    expect(server.delivered('POST /api/v1/auth/refresh')).toHaveLength(1)
    const posts = server.delivered('POST /api/v1/events')
    expect(posts).toHaveLength(2) // refused, then accepted with the new token
    expect(posts[1].auth).toBe(`Bearer ${app.client.getSession().accessToken}`)
    expect(app.client.getSession().accessToken).not.toBe(before)
    expect((await only()).state).toBe('in_review')
    expect(server.events.size).toBe(1)
  })

  it('refresh fails → auth_needed, kept, session cleared; after a new login it syncs', async () => {
    const seen = []
    app.client.onSessionChange((s) => seen.push(s))
    await app.queue.enqueue(EVENT)
    await app.queue.enqueue({ ...EVENT, subject_id: 43 })
    server.expireAll()
    const r = await app.queue.syncNow()
    expect(r).toEqual({ sent: 0, failed: 0, waiting: 2 })
    expect(seen).toEqual([null])
    expect(app.client.getSession()).toBeNull()
    expect((await app.queue.listQueue()).map((i) => i.state)).toEqual(['auth_needed', 'auth_needed'])
    expect(server.events.size).toBe(0)
    expect(server.delivered('POST /api/v1/events')).toHaveLength(1) // the second item was not tried

    await app.queue.syncNow() // no session: nothing is sent
    expect(server.delivered('POST /api/v1/events')).toHaveLength(1)

    await app.client.login('grid1', 'pw')
    const r2 = await app.queue.syncNow()
    expect(r2).toEqual({ sent: 2, failed: 0, waiting: 0 })
    expect((await app.queue.listQueue()).map((i) => i.state)).toEqual(['in_review', 'in_review'])
    expect(server.events.size).toBe(2)
  })

  it('another account on the same phone never sends my items', async () => {
    await app.queue.enqueue(EVENT)
    app.client.logout()
    await app.client.login('grid2', 'pw2')
    await app.queue.syncNow()
    expect(server.delivered('POST /api/v1/events')).toHaveLength(0)
    expect(await app.queue.listQueue()).toEqual([])
    app.client.logout()
    await app.client.login('grid1', 'pw')
    await app.queue.syncNow()
    expect(server.delivered('POST /api/v1/events')).toHaveLength(1)
  })
})

describe('status refresh from /events/mine', () => {
  it('in_review items become approved (points) or rejected (reason)', async () => {
    const a = await app.queue.enqueue(EVENT)
    const b = await app.queue.enqueue({ ...EVENT, subject_id: 43 })
    const c = await app.queue.enqueue({ ...EVENT, subject_id: 44 })
    await app.queue.syncNow()
    expect((await app.queue.listQueue()).map((i) => i.state)).toEqual(['in_review', 'in_review', 'in_review'])

    server.decide(a.idempotencyKey, 'counted', { entries: [{ points: '+2.0' }, { points: '+0.5' }] })
    server.decide(b.idempotencyKey, 'rejected', { reason: '照片看不清' })
    server.decide(c.idempotencyKey, 'skipped')
    const mineBefore = server.delivered('GET /api/v1/events/mine').length
    await app.queue.syncNow()
    expect(server.delivered('GET /api/v1/events/mine').length).toBe(mineBefore + 1)
    const byKey = Object.fromEntries((await app.queue.listQueue()).map((i) => [i.idempotencyKey, i]))
    expect(byKey[a.idempotencyKey]).toMatchObject({ state: 'approved', points: '+2.5' })
    expect(byKey[b.idempotencyKey]).toMatchObject({ state: 'rejected', reviewReason: '照片看不清' })
    expect(byKey[c.idempotencyKey]).toMatchObject({ state: 'approved', points: '0.0', skipped: true })
    expect(server.delivered('POST /api/v1/events')).toHaveLength(3)
  })

  it('an event counted at once is approved with its points; negative sums keep their sign', async () => {
    server.statusFor = () => 'counted'
    await app.queue.enqueue(EVENT)
    await app.queue.syncNow()
    expect(await only()).toMatchObject({ state: 'approved', points: '+2.0' })
    expect(app.queue.pointsText(-15)).toBe('-1.5')
  })

  it('approved items leave the phone 30 days after they were synced; others stay', async () => {
    server.statusFor = (code) => (code === 'G-VOLUNTEER' ? 'counted' : 'pending_review')
    const a = await app.queue.enqueue(EVENT)
    const b = await app.queue.enqueue({ ...EVENT, item_code: 'N-LITTER' })
    await app.queue.syncNow()
    const age = async (localId, days) => {
      const it = await app.db.get('queue', localId)
      await app.db.put('queue', { ...it, syncedAt: Date.now() - days * 24 * 3600 * 1000 })
    }
    await age(a.localId, 29)
    await age(b.localId, 40)
    await app.queue.syncNow()
    expect((await app.queue.listQueue()).map((i) => i.localId).sort()).toEqual([a.localId, b.localId].sort())
    await age(a.localId, 31)
    await app.queue.syncNow()
    expect((await app.queue.listQueue()).map((i) => [i.localId, i.state])).toEqual([[b.localId, 'in_review']])
  })

  it('onQueueChange hears every change; stateLabel speaks Chinese', async () => {
    const seen = []
    const off = app.queue.onQueueChange((item) => seen.push(item?.state))
    await app.queue.enqueue(EVENT)
    await app.queue.syncNow()
    expect(seen).toEqual(['waiting', 'syncing', 'in_review'])
    off()
    await app.queue.enqueue(EVENT)
    expect(seen).toHaveLength(3)
    expect(app.queue.stateLabel('waiting')).toBe('等待信号')
    expect(app.queue.stateLabel('approved')).toBe('已计分')
    expect(app.queue.stateLabel('auth_needed')).toBe('需重新登录')
  })
})

describe('startAutoSync', () => {
  it('syncs on start and on "online", safe to call twice', async () => {
    const target = new EventTarget()
    globalThis.window = target
    try {
      await app.queue.enqueue(EVENT)
      app.queue.startAutoSync()
      app.queue.startAutoSync()
      await vi.waitFor(async () => expect((await only()).state).toBe('in_review'))
      await app.queue.enqueue({ ...EVENT, subject_id: 43 }) // auto: sent after enqueue
      await vi.waitFor(async () => expect(server.events.size).toBe(2))
      server.offline = true
      await app.queue.enqueue({ ...EVENT, subject_id: 44 })
      const third = async () => (await app.queue.listQueue()).find((i) => i.payload.subject_id === 44)
      await vi.waitFor(async () => expect((await third()).attempts).toBe(1))
      server.offline = false
      target.dispatchEvent(new Event('online'))
      await vi.waitFor(async () => expect(server.events.size).toBe(3))
      expect(server.delivered('POST /api/v1/events')).toHaveLength(3)
    } finally {
      app.queue.stopAutoSync()
      delete globalThis.window
    }
  })
})
