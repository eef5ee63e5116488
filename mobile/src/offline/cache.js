// What the phone keeps for use without signal: the grid worker's roster and the catalogue, each with the
// time it was fetched.

import { api } from '../api/client.js'
import { get, put } from './db.js'

const MAX_HITS = 50

async function fetchAndStore(key, path) {
  const value = await api(path)
  await put('cache', { key, value, fetchedAt: Date.now() })
  return value
}

async function stored(key) {
  const row = await get('cache', key)
  return row ? row.value : null
}

/**
 * When a cached value was fetched (ms since epoch), or null.
 * @param {'roster'|'catalogue'} key
 * @returns {Promise<number|null>}
 */
export async function cachedAt(key) {
  const row = await get('cache', key)
  return row ? row.fetchedAt : null
}

/**
 * GET /api/v1/me/roster and store it. Throws ApiError / NetworkError (the stored copy is kept).
 * @returns {Promise<object>} the roster
 */
export function cacheRoster() {
  return fetchAndStore('roster', '/api/v1/me/roster')
}

/**
 * The stored roster or null: {generated_at, grids: [{id, code, name, village_name,
 * households: [{id, code, address, members: [{person_id, name, relation, id_number_masked}]}]}]}.
 * @returns {Promise<object|null>}
 */
export function getRoster() {
  return stored('roster')
}

/**
 * GET /api/v1/me/catalogue and store it. Throws ApiError / NetworkError (the stored copy is kept).
 * @returns {Promise<object>} the catalogue version (VersionOut)
 */
export function cacheCatalogue() {
  return fetchAndStore('catalogue', '/api/v1/me/catalogue')
}

/**
 * The stored catalogue version or null: {version, effective_from, catalogue: [...]}.
 * @returns {Promise<object|null>}
 */
export function getCatalogue() {
  return stored('catalogue')
}

/**
 * People in the roster matching `text`: a name substring, a household code (户号, prefix or substring), or
 * trailing characters of the masked ID number (e.g. "1234", "123X"; X in any case). At most 50 hits, each
 * with its household and grid; people whose name matches come first.
 * @param {object|null} roster as getRoster() returns it
 * @param {string} text what the user typed
 * @returns {Array<{person_id: number, name: string, relation: string, id_number_masked: string,
 *   household: object, grid: object}>}
 */
export function searchRoster(roster, text) {
  const q = String(text ?? '').trim()
  if (!roster || !q) return []
  const upper = q.toUpperCase()
  const idTail = /^[0-9]+[xX]?$/.test(q) ? upper : null
  const byName = []
  const other = []
  for (const grid of roster.grids || []) {
    for (const household of grid.households || []) {
      const code = String(household.code ?? '').toUpperCase()
      const householdHit = code.includes(upper)
      for (const m of household.members || []) {
        const nameHit = String(m.name ?? '').includes(q)
        const idHit = idTail !== null && String(m.id_number_masked ?? '').toUpperCase().endsWith(idTail)
        if (!nameHit && !householdHit && !idHit) continue
        const hit = { ...m, household, grid }
        ;(nameHit ? byName : other).push(hit)
        if (byName.length >= MAX_HITS) return byName
      }
    }
  }
  return byName.concat(other).slice(0, MAX_HITS)
}
