// What the record screen needs from a catalogue item.
import { signed } from './format.js'

/** Items a grid worker may record for a subject of this kind. */
export function itemsFor(catalogue, subjectKind, role = 'grid_worker') {
  const items = catalogue?.catalogue || []
  return items.filter((i) => (i.logged_by || []).includes(role) && (i.subject_kinds || []).includes(subjectKind))
}

/** [{category, items}] in catalogue order. */
export function byCategory(items) {
  const groups = new Map()
  for (const i of items) {
    if (!groups.has(i.category)) groups.set(i.category, [])
    groups.get(i.category).push(i)
  }
  return [...groups].map(([category, list]) => ({ category, items: list }))
}

export function matches(item, text) {
  const q = String(text || '').trim()
  if (!q) return true
  return [item.name_zh, item.behaviour_zh, item.category, item.code].some((s) => String(s || '').includes(q))
}

/** The points an item gives, in words: '+2 分', '按情形 -5～-20 分', '按累计小时分档，最高 +50 分'. */
export function pointsZh(item) {
  if (!item) return ''
  switch (item.scoring_kind) {
    case 'fixed':
      return `${signed(item.points)} 分`
    case 'by_level': {
      const pts = (item.levels || []).map((l) => Number(l.points))
      if (!pts.length) return '按情形计分'
      const lo = Math.min(...pts)
      const hi = Math.max(...pts)
      return lo === hi ? `${signed(lo)} 分` : `按情形 ${signed(lo)}～${signed(hi)} 分`
    }
    case 'tiered': {
      const tiers = item.tiers || []
      const top = tiers.length ? tiers[tiers.length - 1].total_points : null
      return `按累计${item.unit_zh || '数量'}分档${top !== null ? `，最高 ${signed(top)} 分` : ''}`
    }
    case 'direct_grade':
      return `直接认定为 ${item.direct_grade || ''} 级`
    default:
      return item.points ? `${signed(item.points)} 分` : ''
  }
}

/** Tiers in words: '满10小时 +2分；满20小时 +5分…' */
export function tiersZh(item) {
  return (item?.tiers || []).map((t) => `满${Number(t.at)}${item.unit_zh || ''} 共${signed(t.total_points)}分`).join('；')
}
