// Dates as the phone's user sees them: local calendar days (never UTC — a worker recording at 07:00 in
// Gansu must not get yesterday's date).

function pad(n) {
  return String(n).padStart(2, '0')
}

/** YYYY-MM-DD of a Date in local time. */
export function localDay(d = new Date()) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** Today as YYYY-MM-DD in local time. */
export function today() {
  return localDay(new Date())
}

/** A YYYY-MM-DD string → a local Date at midnight. */
export function parseDay(s) {
  const [y, m, d] = String(s).slice(0, 10).split('-').map(Number)
  return new Date(y, m - 1, d)
}

/** '2026-07-01' → '2026年7月1日' */
export function dayZh(s) {
  if (!s) return ''
  const [y, m, d] = String(s).slice(0, 10).split('-').map(Number)
  return `${y}年${m}月${d}日`
}

/** An ISO timestamp (or ms) → '2026年7月1日 09:30' in local time. */
export function timeZh(t) {
  if (!t) return ''
  const d = new Date(t)
  if (Number.isNaN(d.getTime())) return ''
  return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日 ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** Picker values ['2026','07','01'] ⇄ 'YYYY-MM-DD' */
export function toPicker(s) {
  return String(s).slice(0, 10).split('-')
}
export function fromPicker(values) {
  return values.join('-')
}

/** The last day of an exclusive end date (the ledger's valid_until): '2027-12-05' → '2027-12-04'. */
export function lastDay(exclusiveEnd) {
  if (!exclusiveEnd) return ''
  const d = parseDay(exclusiveEnd)
  d.setDate(d.getDate() - 1)
  return localDay(d)
}
