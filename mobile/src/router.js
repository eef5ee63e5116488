// Hash routes (the platform serves one index.html at /m/). The grid worker's screens are in the first
// download so they open without signal; the others load on first use.
import { createRouter, createWebHashHistory } from 'vue-router'
import { getSession } from './api/client.js'
import { homeOf } from './lib/session.js'
import LoginView from './views/LoginView.vue'
import WorkView from './views/WorkView.vue'
import RecordView from './views/RecordView.vue'
import QueueView from './views/QueueView.vue'
import SettingsView from './views/SettingsView.vue'

const GW = ['grid_worker']
const VILLAGER = ['villager']
const ADMINS = ['township_admin', 'county_admin']

const routes = [
  { path: '/', redirect: () => (getSession() ? homeOf(getSession().role) : '/login') },
  { path: '/login', component: LoginView, meta: { public: true, title: '登录' } },
  { path: '/work', component: WorkView, meta: { roles: GW, title: '我的网格' } },
  { path: '/record', component: RecordView, meta: { roles: GW, title: '登记事件' } },
  { path: '/queue', component: QueueView, meta: { roles: GW, title: '上传队列' } },
  { path: '/me', component: () => import('./views/MeView.vue'), meta: { roles: VILLAGER, title: '我的积分' } },
  { path: '/notices', component: () => import('./views/NoticesView.vue'), meta: { roles: VILLAGER, title: '消息' } },
  { path: '/objection', component: () => import('./views/ObjectionNewView.vue'), meta: { roles: VILLAGER, title: '提出异议' } },
  { path: '/objections', component: () => import('./views/ObjectionsView.vue'), meta: { roles: VILLAGER, title: '我的异议' } },
  { path: '/objections/:id', component: () => import('./views/ObjectionDetailView.vue'),
    meta: { roles: [...VILLAGER, ...ADMINS], title: '异议详情' } },
  { path: '/rating-objection', component: () => import('./views/RatingObjectionView.vue'),
    meta: { roles: VILLAGER, title: '对评定结果提出异议' } },
  { path: '/consents', component: () => import('./views/ConsentsView.vue'), meta: { roles: VILLAGER, title: '我的授权' } },
  { path: '/consents/grant', component: () => import('./views/ConsentGrantView.vue'), meta: { roles: VILLAGER, title: '新增授权' } },
  { path: '/access-log', component: () => import('./views/AccessLogView.vue'), meta: { roles: VILLAGER, title: '谁查看了我的信息' } },
  { path: '/review', component: () => import('./views/ReviewView.vue'), meta: { roles: ADMINS, title: '待审核' } },
  { path: '/objections-due', component: () => import('./views/ObjectionsDueView.vue'), meta: { roles: ADMINS, title: '待办异议' } },
  { path: '/quality', component: () => import('./views/QualityView.vue'), meta: { roles: ADMINS, title: '数据质量' } },
  { path: '/quality/:check', component: () => import('./views/QualityListView.vue'), meta: { roles: ADMINS, title: '数据质量清单' } },
  { path: '/settings', component: SettingsView, meta: { title: '我的' } },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({
  history: createWebHashHistory(),
  routes,
  scrollBehavior: (to, from, saved) => saved || { top: 0 },
})

router.beforeEach((to) => {
  const session = getSession()
  if (to.meta.public) return session && to.path === '/login' && !to.query.again ? homeOf(session.role) : true
  if (!session) return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (to.meta.roles && !to.meta.roles.includes(session.role)) return homeOf(session.role)
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · 村信` : '村信'
})
