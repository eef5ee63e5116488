import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { freshWorld, loadApp, reopen } from './fakes.js'

const ROSTER = {
  generated_at: '2026-03-01T08:00:00Z',
  grids: [
    { id: 1, code: 'G01', name: '第一网格', village_name: '东村', households: [
      { id: 11, code: 'DC0012', address: '东村1号', members: [
        { person_id: 101, name: '张三', relation: '户主', id_number_masked: '3301**********1234' },
        { person_id: 102, name: '李四', relation: '配偶', id_number_masked: '3301**********567X' },
      ] },
      { id: 12, code: 'DC0120', address: '东村2号', members: [
        { person_id: 103, name: '张小明', relation: '户主', id_number_masked: '3301**********9012' },
      ] },
    ] },
    { id: 2, code: 'G02', name: '第二网格', village_name: '西村', households: [
      { id: 21, code: 'XC0001', address: '西村1号', members: [
        { person_id: 201, name: '王五', relation: '户主', id_number_masked: '3301**********0012' },
      ] },
    ] },
  ],
}

let server
let app

beforeEach(async () => {
  server = freshWorld()
  server.roster = ROSTER
  server.catalogue = { version: '2026.2', effective_from: '2026-01-01', catalogue: [{ code: 'G-VOLUNTEER' }] }
  app = await loadApp()
  await app.client.login('grid1', 'pw')
})

afterEach(() => app.db.closeDb())

const ids = (hits) => hits.map((h) => h.person_id)

describe('roster and catalogue cache', () => {
  it('stores what it fetched, with the time, and keeps it across a re-opened page and without signal', async () => {
    expect(await app.cache.getRoster()).toBeNull()
    const t0 = Date.now()
    expect(await app.cache.cacheRoster()).toEqual(ROSTER)
    await app.cache.cacheCatalogue()
    expect(await app.cache.cachedAt('roster')).toBeGreaterThanOrEqual(t0)
    app = await reopen(app)
    server.offline = true
    await expect(app.cache.cacheRoster()).rejects.toBeInstanceOf(app.client.NetworkError)
    expect(await app.cache.getRoster()).toEqual(ROSTER)
    expect((await app.cache.getCatalogue()).version).toBe('2026.2')
    expect(server.delivered('GET /api/v1/me/roster')).toHaveLength(1)
  })

  it('searchRoster: name substring, with household and grid', () => {
    const hits = app.cache.searchRoster(ROSTER, '张')
    expect(ids(hits)).toEqual([101, 103])
    expect(hits[0].household.code).toBe('DC0012')
    expect(hits[0].grid.name).toBe('第一网格')
    expect(ids(app.cache.searchRoster(ROSTER, '小明'))).toEqual([103])
    expect(app.cache.searchRoster(ROSTER, '赵')).toEqual([])
    expect(app.cache.searchRoster(ROSTER, '  ')).toEqual([])
    expect(app.cache.searchRoster(null, '张')).toEqual([])
  })

  it('searchRoster: 户号 by prefix or substring, any case', () => {
    expect(ids(app.cache.searchRoster(ROSTER, 'DC0012'))).toEqual([101, 102])
    expect(ids(app.cache.searchRoster(ROSTER, 'dc01'))).toEqual([103])
    expect(ids(app.cache.searchRoster(ROSTER, 'XC'))).toEqual([201])
  })

  it('searchRoster: the tail of the ID number, X in any case', () => {
    expect(ids(app.cache.searchRoster(ROSTER, '1234'))).toEqual([101])
    expect(ids(app.cache.searchRoster(ROSTER, '567x'))).toEqual([102])
    expect(ids(app.cache.searchRoster(ROSTER, '567X'))).toEqual([102])
    expect(ids(app.cache.searchRoster(ROSTER, '9012'))).toEqual([103])
    // '0012' is both a tail (王五) and in a household code (DC0012: 张三, 李四)
    expect(ids(app.cache.searchRoster(ROSTER, '0012')).sort()).toEqual([101, 102, 201])
    expect(app.cache.searchRoster(ROSTER, '8888')).toEqual([])
  })

  it('searchRoster returns at most 50 hits', () => {
    const members = Array.from({ length: 120 }, (_, i) => ({ person_id: i + 1, name: `张${i}`, relation: '户主',
      id_number_masked: '3301**********0000' }))
    const big = { grids: [{ id: 1, name: 'g', households: [{ id: 1, code: 'H1', members }] }] }
    expect(app.cache.searchRoster(big, '张')).toHaveLength(50)
    expect(app.cache.searchRoster(big, '0000')).toHaveLength(50)
    expect(app.cache.searchRoster(big, '张7')).toHaveLength(11)
  })
})
