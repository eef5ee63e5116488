// The villager's inbox (消息): notices the platform writes when something happens to their credit record.
// The unread count is shared state — the tab bar shows it as a badge, the inbox screen keeps it current.
import { ref } from 'vue'
import { api } from '../api/client.js'
import { localDay } from './dates.js'

export const unread = ref(0)

/**
 * One page of notices, newest first (GET /api/v1/me/notices); updates the unread count.
 * @param {{unreadOnly?: boolean, limit?: number, offset?: number}} [opts]
 * @returns {Promise<{items: object[], total: number, limit: number, offset: number, unread: number}>}
 */
export async function loadNotices({ unreadOnly = false, limit = 50, offset = 0 } = {}) {
  const page = await api('/api/v1/me/notices', { query: { unread_only: unreadOnly, limit, offset } })
  unread.value = page.unread
  return page
}

/** The unread count only (for the badge); a failure leaves the last known count. */
export async function refreshUnread() {
  try {
    await loadNotices({ unreadOnly: true, limit: 1 })
  } catch { /* offline or signed out: keep the badge as it was */ }
  return unread.value
}

/**
 * Mark one notice read (idempotent on the server); returns the notice as the server now has it.
 * @param {{id: number, read_at: string|null}} notice
 */
export async function markRead(notice) {
  if (notice.read_at) return notice
  const updated = await api(`/api/v1/me/notices/${encodeURIComponent(notice.id)}/read`, { method: 'POST' })
  unread.value = Math.max(0, unread.value - 1)
  return updated
}

/** Mark everything read; returns how many changed. */
export async function markAllRead() {
  const out = await api('/api/v1/me/notices/read-all', { method: 'POST' })
  unread.value = 0
  return out?.updated ?? 0
}

/**
 * Where tapping a notice leads: only a route of this app ("/me", "/objections/12"); anything else — another
 * host, a protocol, "//x" — is not followed.
 * @param {unknown} link
 * @returns {string|null}
 */
export function appRoute(link) {
  if (typeof link !== 'string') return null
  return /^\/(?!\/)[A-Za-z0-9\-_/]*(\?[A-Za-z0-9=&\-_]*)?$/.test(link) ? link : null
}

/**
 * Notices grouped by the local day they were written on, in the order given (newest first).
 * @param {{created_at: string}[]} items
 * @returns {{day: string, items: object[]}[]}
 */
export function byDay(items) {
  const groups = []
  for (const n of items) {
    const day = localDay(new Date(n.created_at))
    if (!groups.length || groups.at(-1).day !== day) groups.push({ day, items: [] })
    groups.at(-1).items.push(n)
  }
  return groups
}
