// Small display helpers shared by the screens.

/** '2' / '-20.0' / 2 → '+2' / '-20' / '+2' (points as the API sends them: decimal strings). */
export function signed(points) {
  if (points === null || points === undefined || points === '') return ''
  const s = String(points).trim()
  const n = Number(s)
  if (Number.isNaN(n)) return s
  const text = s.replace(/^[+-]/, '').replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '')
  if (n > 0) return `+${text}`
  if (n < 0) return `-${text}`
  return '0'
}

export function pointsClass(points) {
  const n = Number(points)
  if (n > 0) return 'pts-pos'
  if (n < 0) return 'pts-neg'
  return ''
}

/** The Chinese message of an error from the API client (ApiError / NetworkError / anything). */
export function errorZh(e, fallback = '操作失败，请稍后再试') {
  if (!e) return fallback
  if (e.message_zh) return e.message_zh
  if (e.name === 'NetworkError') return e.message || '网络不可用，请检查信号'
  if (e.status === 401) return '登录已过期，请重新登录'
  return fallback
}

export const ROLE_ZH = {
  grid_worker: '网格员',
  villager: '村民',
  township_admin: '乡镇管理员',
  county_admin: '县级管理员',
  bank: '银行',
}

export const RELATION_ZH_FALLBACK = '家庭成员'

export const OBJECTION_STATUS_ZH = { open: '处理中', upheld: '异议成立（已更正）', refused: '异议不成立（维持原记录）' }
export const DUE_ZH = { open: '处理中', due_soon: '即将到期', overdue: '已超期', decided: '已办结', escalated: '已上报县级' }

export const CONSENT_STATUS_ZH = { active: '有效', withdrawn: '已撤回', expired: '已过期', superseded: '告知书已更新，需重新授权' }
export const PURPOSE_ZH = {
  credit_application: '信贷申请',
  credit_line_review: '授信额度审查',
  subsidy_eligibility: '补贴资格审核',
  honour_roll: '红榜公示',
}
export const SCOPE_ZH = {
  grade: '仅信用等级',
  grade_score: '信用等级和积分',
  grade_score_entries: '信用等级、积分和积分明细',
}
export const PROPOSAL_STATUS_ZH = {
  proposed: '待审核',
  awaiting_second: '待复核',
  returned: '已退回',
  publicised: '公示中',
  disputed: '异议处理中',
  effective: '已生效',
}
export const SUBJECT_KIND_ZH = { person: '个人', household: '家庭', organisation: '组织' }
