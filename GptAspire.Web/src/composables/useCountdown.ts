import { computed, onScopeDispose, shallowRef, toValue, watch, type ComputedRef, type MaybeRefOrGetter, type Ref } from 'vue'

export interface UseCountdownReturn {
  /** Whole seconds left until the deadline; 0 once it has passed (or when there is none). */
  remaining: Readonly<Ref<number>>
  /** `true` while seconds are left. */
  isRunning: ComputedRef<boolean>
}

/**
 * Seconds left until a moment (epoch ms), ticking once a second while it is ahead. The deadline is
 * the fact, not the seconds: a countdown shown again later (another chat, a reload) goes on from
 * where the clock is, not from the start.
 */
export function useCountdown(deadline: MaybeRefOrGetter<number | null | undefined>): UseCountdownReturn {
  const remaining = shallowRef(0)
  let timer: ReturnType<typeof setInterval> | undefined

  function tick() {
    const at = toValue(deadline)
    remaining.value = at ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : 0
    if (remaining.value === 0) {
      clearInterval(timer)
      timer = undefined
    }
  }

  watch(
    () => toValue(deadline),
    () => {
      clearInterval(timer)
      timer = undefined
      tick()
      // Ticks land just after each whole second left, so the number changes on time.
      if (remaining.value > 0) timer = setInterval(tick, 250)
    },
    { immediate: true },
  )

  onScopeDispose(() => clearInterval(timer))

  return { remaining, isRunning: computed(() => remaining.value > 0) }
}
