import { computed, onScopeDispose, shallowRef, type ComputedRef, type Ref } from 'vue'

export interface UseCountdownReturn {
  /** Whole seconds left; 0 when not running. */
  remaining: Readonly<Ref<number>>
  /** `true` while seconds are left. */
  isRunning: ComputedRef<boolean>
  /** (Re)starts from `seconds`; 0 or less stops it. */
  start: (seconds: number) => void
  stop: () => void
}

/** A one-second countdown (for `retryAfterSeconds`), cleared with its scope. */
export function useCountdown(): UseCountdownReturn {
  const remaining = shallowRef(0)
  let timer: ReturnType<typeof setInterval> | undefined

  function stop() {
    clearInterval(timer)
    timer = undefined
    remaining.value = 0
  }

  function start(seconds: number) {
    stop()
    remaining.value = Math.max(0, Math.ceil(seconds))
    if (remaining.value === 0) return
    timer = setInterval(() => {
      remaining.value--
      if (remaining.value <= 0) stop()
    }, 1000)
  }

  onScopeDispose(stop)

  return { remaining, isRunning: computed(() => remaining.value > 0), start, stop }
}
