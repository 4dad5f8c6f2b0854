import {
  computed,
  hasInjectionContext,
  inject,
  onScopeDispose,
  shallowRef,
  type ComputedRef,
  type InjectionKey,
  type Ref,
} from 'vue'
import { fetchEventSource, type EventSourceMessage } from '@microsoft/fetch-event-source'
import { createTraceparent } from '@/lib/traceContext'
import {
  CHAT_STREAM_PATH,
  ChatEventName,
  EVENT_STREAM_CONTENT_TYPE,
  isChatEventName,
  type ChatErrorCode,
  type ChatEventMap,
  type ChatRequest,
  type FinishReason,
  type StartEventData,
  type UsageEventData,
  type ValidationProblemDetails,
} from '@/api/chatEvents'

export type ChatStreamStatus = 'idle' | 'connecting' | 'streaming' | 'done' | 'stopped' | 'error'

/**
 * Why a stream failed: an `error` event's code, or one of the client-side ones:
 * `invalid_request` (400 ProblemDetails with field errors), `http_error` (any other non-2xx
 * or a response that is not an event stream), `connection_lost` (the request failed or the
 * stream ended without `finish`/`error`).
 */
export type ChatStreamErrorCode = ChatErrorCode | 'invalid_request' | 'http_error' | 'connection_lost'

export interface ChatStreamError {
  code: ChatStreamErrorCode
  /** Text fit to show a person. */
  message: string
  /** HTTP status, for `invalid_request` and `http_error`. */
  status?: number
  /** Seconds to wait before retrying (`rate_limited`). */
  retryAfterSeconds?: number
  /** Whether sending the same conversation again may succeed. */
  retryable: boolean
}

/** One named event with its typed payload. */
export type ChatStreamEvent = {
  [K in keyof ChatEventMap]: { name: K; data: ChatEventMap[K] }
}[keyof ChatEventMap]

/** What a finished `send()` resolves to. */
export interface ChatStreamResult {
  status: 'done' | 'stopped' | 'error'
  text: string
  finishReason: FinishReason | null
  usage: UsageEventData | null
  error: ChatStreamError | null
  fieldErrors: Record<string, string[]>
}

export interface UseChatStreamOptions {
  /**
   * Endpoint to POST to. Keep it relative in the app: the Node server proxies `/api`.
   * @default '/api/chat/stream'
   */
  url?: string
  /**
   * The `fetch` to use (tests pass Node's own to reach a local server).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch
  /** Called for every known event, after the state has been updated. */
  onEvent?: (event: ChatStreamEvent) => void
}

export interface UseChatStreamReturn {
  // State refs are plain shallowRefs typed read-only: only the composable writes them.
  /** Lifecycle of the latest stream. */
  status: Readonly<Ref<ChatStreamStatus>>
  /** The answer so far (the concatenated `token` texts). */
  text: Readonly<Ref<string>>
  /** Data of the `start` event, once it arrived. */
  startInfo: Readonly<Ref<StartEventData | null>>
  /** Data of the `usage` event, once it arrived. */
  usage: Readonly<Ref<UsageEventData | null>>
  /** `finish` reason, once it arrived. */
  finishReason: Readonly<Ref<FinishReason | null>>
  /** Why the latest stream failed, when `status` is `error`. */
  error: Readonly<Ref<ChatStreamError | null>>
  /** Field errors of a 400 ProblemDetails, keyed by camelCase JSON path (`messages[0].content`). */
  fieldErrors: Readonly<Ref<Readonly<Record<string, readonly string[]>>>>
  /** Number of `token` events received: a live count until `usage` gives the exact one. */
  tokenCount: Readonly<Ref<number>>
  /** Completion tokens: exact after `usage`, else the live count. */
  completionTokens: ComputedRef<number>
  /** Tokens left in the context window: from `usage`, else `start` minus the live count. */
  remainingTokens: ComputedRef<number | null>
  /** `true` while connecting or streaming. */
  isActive: ComputedRef<boolean>
  /**
   * POSTs the request and streams the answer. Resolves when the stream ends, however it ends
   * (never rejects). Never re-sends the request by itself: a retry is the caller's decision.
   * A stream still running is stopped first.
   */
  send: (request: ChatRequest) => Promise<ChatStreamResult>
  /** Aborts the running stream (the server then cancels the upstream call); keeps the partial text. */
  stop: () => void
  /** Back to `idle` with empty state (stops a running stream first). */
  reset: () => void
}

/** App-wide defaults for {@link useChatStream}, given with `app.provide` (tests inject `fetch` here). */
export const chatStreamDefaultsKey: InjectionKey<Pick<UseChatStreamOptions, 'url' | 'fetch'>> =
  Symbol('chatStreamDefaults')

/** Thrown inside fetch-event-source's callbacks to end the stream without its retry. */
class StreamFailure extends Error {
  constructor(
    readonly failure: ChatStreamError,
    readonly fieldErrors: Record<string, string[]> = {},
  ) {
    super(failure.message)
    this.name = 'StreamFailure'
  }
}

/**
 * Streams one chat completion from `POST /api/chat/stream` over Server-Sent Events with named
 * events (`start`, `token`, `usage`, `finish`, `error`), using `@microsoft/fetch-event-source`.
 */
export function useChatStream(options: UseChatStreamOptions = {}): UseChatStreamReturn {
  const defaults = hasInjectionContext() ? inject(chatStreamDefaultsKey, {}) : {}
  const url = options.url ?? defaults.url ?? CHAT_STREAM_PATH

  const status = shallowRef<ChatStreamStatus>('idle')
  const text = shallowRef('')
  const startInfo = shallowRef<StartEventData | null>(null)
  const usage = shallowRef<UsageEventData | null>(null)
  const finishReason = shallowRef<FinishReason | null>(null)
  const error = shallowRef<ChatStreamError | null>(null)
  const fieldErrors = shallowRef<Record<string, string[]>>({})
  const tokenCount = shallowRef(0)

  const completionTokens = computed(() => usage.value?.completionTokens ?? tokenCount.value)
  const remainingTokens = computed(() => {
    if (usage.value) return usage.value.remainingTokens
    if (startInfo.value) return Math.max(0, startInfo.value.remainingTokens - tokenCount.value)
    return null
  })
  const isActive = computed(() => status.value === 'connecting' || status.value === 'streaming')

  let controller: AbortController | null = null

  function clearState() {
    text.value = ''
    startInfo.value = null
    usage.value = null
    finishReason.value = null
    error.value = null
    fieldErrors.value = {}
    tokenCount.value = 0
  }

  function snapshot(): ChatStreamResult {
    const ended = status.value
    return {
      status: ended === 'done' || ended === 'error' ? ended : 'stopped',
      text: text.value,
      finishReason: finishReason.value,
      usage: usage.value,
      error: error.value,
      fieldErrors: fieldErrors.value,
    }
  }

  /** Applies one event to the state; returns true for the terminal `finish`/`error`. */
  function dispatch(message: EventSourceMessage): boolean {
    // Unknown names (and the empty message fetch-event-source emits after a `: ping` comment)
    // are ignored, so the server can add events without breaking older pages.
    if (!isChatEventName(message.event)) return false
    let data: unknown
    try {
      data = JSON.parse(message.data)
    } catch {
      return false
    }
    if (typeof data !== 'object' || data === null) return false

    const event = { name: message.event, data } as ChatStreamEvent
    let terminal = false
    switch (event.name) {
      case ChatEventName.Start:
        startInfo.value = event.data
        break
      case ChatEventName.Token:
        if (typeof event.data.text !== 'string') return false
        text.value += event.data.text
        tokenCount.value++
        break
      case ChatEventName.Usage:
        usage.value = event.data
        break
      case ChatEventName.Finish:
        finishReason.value = event.data.reason
        status.value = 'done'
        terminal = true
        break
      case ChatEventName.Error:
        error.value = {
          code: event.data.code,
          message: event.data.message || 'The answer failed.',
          retryAfterSeconds: event.data.retryAfterSeconds,
          // The same prompt would be filtered again; everything else may pass on a retry.
          retryable: event.data.code !== 'content_filtered',
        }
        status.value = 'error'
        terminal = true
        break
    }
    options.onEvent?.(event)
    return terminal
  }

  async function send(request: ChatRequest): Promise<ChatStreamResult> {
    stop()
    const run = new AbortController()
    controller = run
    const isCurrent = () => controller === run
    clearState()
    status.value = 'connecting'

    let ended = false
    try {
      await fetchEventSource(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: EVENT_STREAM_CONTENT_TYPE,
          traceparent: createTraceparent(),
        },
        body: JSON.stringify(request),
        signal: run.signal,
        // Otherwise the library closes the stream on a hidden tab and POSTs again when it shows.
        openWhenHidden: true,
        fetch: options.fetch ?? defaults.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        async onopen(response) {
          const contentType = response.headers.get('content-type') ?? ''
          if (response.ok && contentType.startsWith(EVENT_STREAM_CONTENT_TYPE)) {
            if (isCurrent()) status.value = 'streaming'
            return
          }
          throw await failureFromResponse(response)
        },
        onmessage(message) {
          if (!isCurrent() || ended) return
          ended = dispatch(message)
        },
        onclose() {
          // Returning would resolve; throwing reaches onerror, which rethrows. Either way the
          // library does not re-POST. A close before finish/error is a lost connection.
          if (!ended) {
            throw new StreamFailure({
              code: 'connection_lost',
              message: 'The answer stopped before it was complete.',
              retryable: true,
            })
          }
        },
        onerror(err: unknown) {
          // Rethrowing is the only way to stop fetch-event-source from retrying (a second POST,
          // a second paid answer).
          throw err
        },
      })
    } catch (err) {
      if (isCurrent() && !ended) fail(err)
    } finally {
      if (isCurrent()) controller = null
    }
    // Still `connecting`/`streaming` here means the signal was aborted (stop() or dispose).
    if (isCurrent() && (status.value === 'connecting' || status.value === 'streaming')) {
      status.value = 'stopped'
    }
    return snapshot()
  }

  function fail(err: unknown) {
    if (err instanceof StreamFailure) {
      error.value = err.failure
      fieldErrors.value = err.fieldErrors
    } else {
      error.value = {
        code: 'connection_lost',
        message: 'The server could not be reached.',
        retryable: true,
      }
    }
    status.value = 'error'
  }

  function stop() {
    if (!controller) return
    controller.abort()
    controller = null
    if (isActive.value) status.value = 'stopped'
  }

  function reset() {
    stop()
    clearState()
    status.value = 'idle'
  }

  onScopeDispose(stop)

  return {
    status: status,
    text: text,
    startInfo: startInfo,
    usage: usage,
    finishReason: finishReason,
    error: error,
    fieldErrors: fieldErrors,
    tokenCount: tokenCount,
    completionTokens,
    remainingTokens,
    isActive,
    send,
    stop,
    reset,
  }
}

async function failureFromResponse(response: Response): Promise<StreamFailure> {
  const contentType = response.headers.get('content-type') ?? ''
  const retryable = response.status >= 500 || response.status === 408 || response.status === 429
  const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10)
  const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : undefined

  if (contentType.includes('json')) {
    const problem = (await response.json().catch(() => null)) as ValidationProblemDetails | null
    const errors = problem?.errors ?? {}
    if (Object.keys(errors).length > 0) {
      return new StreamFailure(
        {
          code: 'invalid_request',
          message: problem?.title ?? 'The request was not valid.',
          status: response.status,
          retryable: false,
        },
        errors,
      )
    }
    if (problem?.title || problem?.detail) {
      return new StreamFailure({
        code: 'http_error',
        message: problem.detail ?? problem.title ?? '',
        status: response.status,
        retryAfterSeconds,
        retryable,
      })
    }
  }
  return new StreamFailure({
    code: 'http_error',
    message: response.ok
      ? `Unexpected response (${contentType || 'no content type'}).`
      : `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`,
    status: response.status,
    retryAfterSeconds,
    retryable: response.ok ? false : retryable,
  })
}
