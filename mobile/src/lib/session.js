// The signed-in user as reactive state for the screens, fed by the API client's session.
import { ref, computed } from 'vue'
import { getSession, onSessionChange } from '../api/client.js'

export const session = ref(getSession())
onSessionChange((s) => { session.value = s })

export const role = computed(() => session.value?.role || null)
export const me = computed(() => session.value?.me || null)

export function refreshSession() {
  session.value = getSession()
}

/** Where a role lands after login. */
export function homeOf(r) {
  if (r === 'grid_worker') return '/work'
  if (r === 'villager') return '/me'
  if (r === 'township_admin' || r === 'county_admin') return '/review'
  return '/settings'
}

/** The bottom tab bar of each role. */
export const TABS = {
  grid_worker: [
    { to: '/work', label: '我的网格', icon: 'wap-home-o' },
    { to: '/queue', label: '上传队列', icon: 'upgrade' },
    { to: '/settings', label: '我的', icon: 'user-o' },
  ],
  villager: [
    { to: '/me', label: '我的积分', icon: 'medal-o' },
    { to: '/notices', label: '消息', icon: 'bell' },
    { to: '/objections', label: '我的异议', icon: 'comment-o' },
    { to: '/consents', label: '我的授权', icon: 'shield-o' },
    { to: '/settings', label: '我的', icon: 'user-o' },
  ],
  township_admin: [
    { to: '/review', label: '待审核', icon: 'todo-list-o' },
    { to: '/objections-due', label: '待办异议', icon: 'warning-o' },
    { to: '/quality', label: '数据质量', icon: 'chart-trending-o' },
    { to: '/settings', label: '我的', icon: 'user-o' },
  ],
}
TABS.county_admin = TABS.township_admin
