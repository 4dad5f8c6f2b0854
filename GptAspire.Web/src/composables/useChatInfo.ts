import { hasInjectionContext, inject, shallowRef, type Ref } from 'vue'
import { CHAT_INFO_PATH, type ChatInfo } from '@/api/chatEvents'
import { chatStreamDefaultsKey } from './useChatStream'

export interface UseChatInfoOptions {
  /** @default globalThis.fetch (or the app's `chatStreamDefaultsKey` fetch) */
  fetch?: typeof fetch
}

export interface UseChatInfoReturn {
  /** The server's model and limits; `null` until they arrive (or when the API cannot be reached). */
  info: Readonly<Ref<ChatInfo | null>>
}

const browserFetch: typeof fetch = (input, init) => globalThis.fetch(input, init)

// One request per page, whoever asks: the limits do not change while the server runs.
const requests = new WeakMap<typeof fetch, Promise<ChatInfo | null>>()

/** The limits the API applies (`GET /api/info`), served by it rather than copied into the page. */
export function useChatInfo(options: UseChatInfoOptions = {}): UseChatInfoReturn {
  const defaults = hasInjectionContext() ? inject(chatStreamDefaultsKey, {}) : {}
  const fetchImpl = options.fetch ?? defaults.fetch ?? browserFetch
  const info = shallowRef<ChatInfo | null>(null)

  let request = requests.get(fetchImpl)
  if (!request) {
    request = fetchImpl(CHAT_INFO_PATH, { headers: { accept: 'application/json' } })
      .then((response) => (response.ok ? (response.json() as Promise<ChatInfo>) : null))
      .catch(() => null)
    // A failed look-up is tried again by the next page (or component) that asks.
    void request.then((value) => value ?? requests.delete(fetchImpl))
    requests.set(fetchImpl, request)
  }
  void request.then((value) => (info.value = value))
  return { info }
}
