import { computed, hasInjectionContext, inject, onScopeDispose, shallowRef, type ComputedRef, type InjectionKey, type Ref } from 'vue'
import type { ChatRequest, FinishReason, StartEventData, UsageEventData } from '@/api/chatEvents'
import {
  createChatTransport,
  type ChatReconnect,
  type ChatStreamError,
  type ChatStreamEvent,
  type ChatStreamHandle,
  type ChatStreamHandlers,
  type ChatStreamResult,
  type ChatStreamStatus,
  type ChatTransportOptions,
} from '@/api/chatTransport'

export type { ChatStreamError, ChatStreamEvent, ChatStreamResult, ChatStreamStatus } from '@/api/chatTransport'

/** The latest answer's stream as the page shows it: replaced as a whole, once per event that is not a token. */
export interface ChatRun {
  status: ChatStreamStatus
  /** Data of the `start` event, once it arrived (not after a resume that began past it). */
  start: StartEventData | null
  usage: UsageEventData | null
  finishReason: FinishReason | null
  /** Why the stream failed, when `status` is `error`. */
  error: ChatStreamError | null
  /** Field errors of a 400 ProblemDetails, keyed by camelCase JSON path (`messages[0].content`). */
  fieldErrors: Readonly<Record<string, readonly string[]>>
  /** While `reconnecting`: which try this is of how many. */
  reconnect: ChatReconnect | null
}

export interface UseChatStreamOptions extends ChatTransportOptions {
  /**
   * Called once for every known event, in order: the place to append each `token` to the answer
   * it belongs to. Not called for an answer that was stopped or replaced.
   */
  onEvent?: (event: ChatStreamEvent) => void
}

export interface UseChatStreamReturn {
  /** The latest answer's stream. Only the composable writes it. */
  state: Readonly<Ref<ChatRun>>
  /** `state.status`. */
  status: ComputedRef<ChatStreamStatus>
  /** `true` while connecting, streaming or reconnecting. */
  isActive: ComputedRef<boolean>
  /**
   * POSTs the request and streams the answer (a lost connection is resumed, never POSTed again).
   * Resolves when the stream ends, however it ends (never rejects). A stream still running is stopped first.
   */
  send: (request: ChatRequest) => Promise<ChatStreamResult>
  /** Streams a generation that is already running (after a reload) from the event after `lastEventId`. */
  resume: (requestId: string, lastEventId: number) => Promise<ChatStreamResult>
  /** Stops the generation on the server and here; keeps the partial answer. */
  stop: () => void
  /** Back to `idle` (stops a running stream first). */
  reset: () => void
}

/** App-wide defaults for {@link useChatStream}, given with `app.provide` (tests inject `fetch` here). */
export const chatStreamDefaultsKey: InjectionKey<ChatTransportOptions> = Symbol('chatStreamDefaults')

const IDLE: ChatRun = Object.freeze({
  status: 'idle',
  start: null,
  usage: null,
  finishReason: null,
  error: null,
  fieldErrors: Object.freeze({}),
  reconnect: null,
})

/**
 * One answer at a time from `POST /api/chat/stream`, as reactive state: adapts the framework-free
 * {@link createChatTransport} to Vue. The answer's text is not kept here: `onEvent` hands each
 * token to where the answer lives.
 */
export function useChatStream(options: UseChatStreamOptions = {}): UseChatStreamReturn {
  const defaults = hasInjectionContext() ? inject(chatStreamDefaultsKey, {}) : {}
  const transport = createChatTransport({
    url: options.url ?? defaults.url,
    fetch: options.fetch ?? defaults.fetch,
    reconnectDelaysMs: options.reconnectDelaysMs ?? defaults.reconnectDelaysMs,
    defaultHeartbeatSeconds: options.defaultHeartbeatSeconds ?? defaults.defaultHeartbeatSeconds,
  })

  const state = shallowRef<ChatRun>(IDLE)
  const status = computed(() => state.value.status)
  const isActive = computed(() => ['connecting', 'streaming', 'reconnecting'].includes(status.value))

  let current: ChatStreamHandle | null = null
  const patch = (change: Partial<ChatRun>) => (state.value = { ...state.value, ...change })

  async function follow(open: (handlers: ChatStreamHandlers) => ChatStreamHandle): Promise<ChatStreamResult> {
    stop()
    state.value = { ...IDLE, status: 'connecting' }
    let handle: ChatStreamHandle | null = null
    handle = open({
      onStatus(next, reconnect) {
        if (handle === current) patch({ status: next, reconnect })
      },
      onEvent(event) {
        if (handle !== current) return
        // Tokens change nothing here: their text and count live with the answer.
        if (event.name === 'start') patch({ start: event.data })
        else if (event.name === 'usage') patch({ usage: event.data })
        else if (event.name === 'finish') patch({ finishReason: event.data.reason })
        options.onEvent?.(event)
      },
    })
    current = handle
    const result = await handle.result
    if (handle === current) {
      current = null
      patch({ status: result.status, error: result.error, fieldErrors: result.fieldErrors, reconnect: null })
    }
    return result
  }

  function stop() {
    const handle = current
    if (!handle) return
    current = null
    handle.stop()
    if (isActive.value) patch({ status: 'stopped', reconnect: null })
  }

  function reset() {
    stop()
    state.value = IDLE
  }

  // Leaves the generation running on the server (a reload resumes it); closes the connection.
  onScopeDispose(() => current?.abandon())

  return {
    state,
    status,
    isActive,
    send: (request) => follow((handlers) => transport.send(request, handlers)),
    resume: (requestId, lastEventId) => follow((handlers) => transport.resume(requestId, lastEventId, handlers)),
    stop,
    reset,
  }
}
