import { hasInjectionContext, inject, shallowRef, type Ref } from 'vue'
import { CHAT_INFO_PATH, type ChatInfo } from '@/api/chatEvents'
import { chatStreamDefaultsKey } from './useChatStream'

export interface UseChatInfoOptions {
  /** @default globalThis.fetch (or the app's `chatStreamDefaultsKey` fetch) */
  fetch?: typeof fetch
}

export interface UseChatInfoReturn {
  /** The server's model and limits; `null` until they arrive (asked again while the API cannot be reached). */
  info: Readonly<Ref<ChatInfo | null>>
}

const browserFetch: typeof fetch = (input, init) => globalThis.fetch(input, init)

/** The waits between look-ups while the API cannot be reached: 1 s, doubling, then every 30 s. */
export const CHAT_INFO_RETRY_MS = { first: 1000, max: 30_000 }

// One look-up per page, whoever asks: the limits do not change while the server runs.
const requests = new WeakMap<typeof fetch, Promise<ChatInfo | null>>()

/**
 * Asks until the API answers: a page opened while the API is still starting (or restarting) gets its limits once
 * it is up, not a page without them until a reload. An answer that will not change (a 4xx other than 408/429)
 * ends it with `null`.
 */
async function lookUp(fetchImpl: typeof fetch): Promise<ChatInfo | null> {
  for (let wait = CHAT_INFO_RETRY_MS.first; ; wait = Math.min(wait * 2, CHAT_INFO_RETRY_MS.max)) {
    try {
      const response = await fetchImpl(CHAT_INFO_PATH, { headers: { accept: 'application/json' } })
      if (response.ok) return (await response.json()) as ChatInfo
      if (response.status < 500 && response.status !== 408 && response.status !== 429) return null
    } catch {
      // Not reachable (yet): the API's proxy gave up, or the network is down.
    }
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}

/** The limits the API applies (`GET /api/info`), served by it rather than copied into the page. */
export function useChatInfo(options: UseChatInfoOptions = {}): UseChatInfoReturn {
  const defaults = hasInjectionContext() ? inject(chatStreamDefaultsKey, {}) : {}
  const fetchImpl = options.fetch ?? defaults.fetch ?? browserFetch
  const info = shallowRef<ChatInfo | null>(null)

  let request = requests.get(fetchImpl)
  if (!request) {
    request = lookUp(fetchImpl)
    requests.set(fetchImpl, request)
  }
  void request.then((value) => (info.value = value))
  return { info }
}
