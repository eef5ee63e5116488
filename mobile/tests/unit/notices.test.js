import 'fake-indexeddb/auto'
import { beforeEach, describe, expect, it } from 'vitest'
import { freshWorld, loadApp } from './fakes.js'

let server
let app
let notices

const json = (body) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })

/** An inbox on the fake server: GET the list, POST read / read-all, as the platform answers them. */
function inbox(rows) {
  const answer = (c) => {
    if (c.method === 'GET' && c.path === '/api/v1/me/notices') {
      const shown = c.query.unread_only === 'true' ? rows.filter((n) => !n.read_at) : rows
      const limit = Number(c.query.limit || 20)
      return json({ items: shown.slice(0, limit), total: shown.length, limit, offset: 0,
        unread: rows.filter((n) => !n.read_at).length })
    }
    const one = c.path.match(/^\/api\/v1\/me\/notices\/(\d+)\/read$/)
    if (c.method === 'POST' && one) {
      const n = rows.find((x) => x.id === Number(one[1]))
      n.read_at = n.read_at || '2026-12-07T10:00:00+08:00'
      return json(n)
    }
    if (c.method === 'POST' && c.path === '/api/v1/me/notices/read-all') {
      const fresh = rows.filter((n) => !n.read_at)
      fresh.forEach((n) => { n.read_at = '2026-12-07T10:00:00+08:00' })
      return json({ updated: fresh.length })
    }
    return undefined
  }
  const install = () => server.hook((c) => {
    const out = answer(c)
    if (out) install() // a hook is used once: put it back for the next call
    return out
  })
  install()
}

beforeEach(async () => {
  server = freshWorld()
  app = await loadApp()
  notices = await import('../../src/lib/notices.js')
  server.users.villager1 = 'pw'
  await app.client.login('villager1', 'pw')
})

const rows = () => [
  { id: 3, kind: 'event_recorded', title_zh: '新的信用记录', body_zh: '…', link: '/me', created_at: '2026-12-07T11:30:00Z', read_at: null },
  { id: 2, kind: 'rating_publicity', title_zh: '评定结果公示', body_zh: '…', link: '/rating-objection', created_at: '2026-12-07T10:30:00Z', read_at: null },
  { id: 1, kind: 'objection_decided', title_zh: '异议已办结', body_zh: '…', link: 'https://evil.example/x', created_at: '2026-12-05T11:30:00Z', read_at: '2026-12-06T08:00:00+08:00' },
]

describe('the villager inbox', () => {
  it('loads the notices with the bearer token and keeps the unread count', async () => {
    inbox(rows())
    const page = await notices.loadNotices({ limit: 100 })
    expect(page.items.map((n) => n.id)).toEqual([3, 2, 1])
    expect(notices.unread.value).toBe(2)
    const call = server.calls.at(-1)
    expect(call).toMatchObject({ method: 'GET', path: '/api/v1/me/notices', auth: 'Bearer A1' })
    expect(call.query).toMatchObject({ unread_only: 'false', limit: '100' })
  })

  it('marking one read lowers the count once; a read notice is not sent again', async () => {
    const data = rows()
    inbox(data)
    await notices.loadNotices()
    const read = await notices.markRead(data[0])
    expect(read.read_at).toBeTruthy()
    expect(notices.unread.value).toBe(1)
    await notices.markRead(read)
    expect(server.delivered('POST /api/v1/me/notices/3/read')).toHaveLength(1)
    expect(notices.unread.value).toBe(1)
    expect(await notices.markAllRead()).toBe(1)
    expect(notices.unread.value).toBe(0)
    expect(await notices.refreshUnread()).toBe(0)
  })

  it('offline, the badge keeps its last count', async () => {
    inbox(rows())
    await notices.loadNotices()
    server.offline = true
    expect(await notices.refreshUnread()).toBe(2)
  })

  it('only routes of the app are followed from a notice', () => {
    expect(notices.appRoute('/me')).toBe('/me')
    expect(notices.appRoute('/objections/12')).toBe('/objections/12')
    expect(notices.appRoute('/rating-objection?period=3')).toBe('/rating-objection?period=3')
    for (const bad of ['https://evil.example/x', '//evil.example', 'javascript:alert(1)', '', null, 42, '/a b', '/x"><']) {
      expect(notices.appRoute(bad)).toBeNull()
    }
  })

  it('groups by the local day, newest first (times chosen to be the same day from UTC-11 to UTC+12)', () => {
    const groups = notices.byDay(rows())
    expect(groups.map((g) => [g.day, g.items.map((n) => n.id)])).toEqual([['2026-12-07', [3, 2]], ['2026-12-05', [1]]])
  })
})
