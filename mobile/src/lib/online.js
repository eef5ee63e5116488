// One reactive "is there a signal" flag for every screen (navigator.onLine + its events).
import { ref } from 'vue'

export const online = ref(typeof navigator === 'undefined' ? true : navigator.onLine !== false)

if (typeof window !== 'undefined') {
  window.addEventListener('online', () => { online.value = true })
  window.addEventListener('offline', () => { online.value = false })
}
