/**
 * The chat stream's transport, with no framework in it: one answer's POST over
 * `@microsoft/fetch-event-source`, its silence watchdog, its resumes (`GET` + `Last-Event-ID`, never a
 * second POST) and its stop. It hands each typed event, once and in order, to its caller's callbacks;
 * `useChatStream` adapts it to Vue.
 */
import { fetchEventSource, type EventSourceMessage } from '@microsoft/fetch-event-source'
import { createTraceparent } from '@/lib/traceContext'
import {
  CHAT_STREAM_PATH,
  ChatEventName,
  EVENT_STREAM_CONTENT_TYPE,
  LAST_EVENT_ID_HEADER,
  chatStreamResumePath,
  chatStreamStopPath,
  isChatEventName,
  type ChatErrorCode,
  type ChatEventMap,
  type ChatRequest,
  type FinishReason,
  type UsageEventData,
  type ValidationProblemDetails,
} from './chatEvents'

/**
 * `reconnecting`: the connection was lost (closed early, cut, or silent for twice the heartbeat
 * interval) and the same answer is being asked for again with `GET` + `Last-Event-ID`.
 */
export type ChatStreamStatus = 'idle' | 'connecting' | 'streaming' | 'reconnecting' | 'done' | 'stopped' | 'error'

/**
 * Why a stream failed: an `error` event's code, or one of the client-side ones:
 * `invalid_request` (400 ProblemDetails with field errors), `rate_limited` (also a 429 answer),
 * `server_busy` (503), `http_error` (any other non-2xx or a response that is not an event
 * stream), `connection_lost` (no connection, or every reconnection failed), `stream_gone` (the
 * server no longer has the answer: 404 on resume).
 */
export type ChatStreamErrorCode =
  | ChatErrorCode
  | 'invalid_request'
  | 'server_busy'
  | 'http_error'
  | 'connection_lost'
  | 'stream_gone'

export interface ChatStreamError {
  code: ChatStreamErrorCode
  /** Text fit to show a person. */
  message: string
  /** HTTP status, for the errors that came as an HTTP answer. */
  status?: number
  /** Seconds to wait before retrying (`rate_limited`, `server_busy`), as the server said. */
  retryAfterSeconds?: number
  /** When (epoch ms) a retry may start: now plus `retryAfterSeconds` at the moment the answer came. */
  retryAt?: number
  /** Whether sending the same conversation again may succeed. */
  retryable: boolean
}

/** One named event with its typed payload and its `id` (its position in the stream). */
export type ChatStreamEvent = {
  [K in keyof ChatEventMap]: { name: K; data: ChatEventMap[K]; id: number }
}[keyof ChatEventMap]

/** How an answer's stream ended. Its text is wherever `onEvent` put it. */
export interface ChatStreamResult {
  status: 'done' | 'stopped' | 'error'
  /** From `start`: what a resume needs. `null` when the stream ended before `start`. */
  requestId: string | null
  /** The `id` of the last event applied; -1 before the first. */
  lastEventId: number
  finishReason: FinishReason | null
  usage: UsageEventData | null
  error: ChatStreamError | null
  fieldErrors: Record<string, string[]>
}

/** While `reconnecting`: which try this is (1-based) of how many. */
export interface ChatReconnect {
  attempt: number
  tries: number
}

export interface ChatTransportOptions {
  /**
   * Endpoint to POST to; resume and stop are below it. Keep it relative in the app: the Node
   * server proxies `/api`.
   * @default '/api/chat/stream'
   */
  url?: string
  /**
   * The `fetch` to use (tests pass Node's own to reach a local server).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch
  /**
   * Waits before each reconnection after a lost connection; their number is the number of tries.
   * A try that receives an event starts the count again.
   * @default [500, 1000, 2000, 4000, 8000]
   */
  reconnectDelaysMs?: readonly number[]
  /**
   * The heartbeat interval assumed until `start` gives the server's (`heartbeatSeconds`): a
   * stream with no byte for twice the interval is lost.
   * @default 15
   */
  defaultHeartbeatSeconds?: number
}

/** What one answer's stream tells its owner while it runs. Neither is called after `stop()`/`abandon()`. */
export interface ChatStreamHandlers {
  /**
   * Every known event, once, in order: the place to append each `token` to the answer it belongs
   * to. Events a resume sends again are not passed on twice. Runs per token: keep it cheap.
   */
  onEvent?: (event: ChatStreamEvent) => void
  /** The stream's status changed; `reconnect` is set while `reconnecting`. */
  onStatus?: (status: ChatStreamStatus, reconnect: ChatReconnect | null) => void
}

/** One answer being streamed. */
export interface ChatStreamHandle {
  /** Resolves when the stream ends, however it ends (never rejects). */
  readonly result: Promise<ChatStreamResult>
  /** Stops the generation on the server (stop endpoint) and here; the text so far stays. */
  stop: () => void
  /** Closes the connection and leaves the generation running on the server (a reload resumes it). */
  abandon: () => void
}

export interface ChatTransport {
  /** POSTs the request and streams the answer, resuming a lost connection from its last event. */
  send: (request: ChatRequest, handlers?: ChatStreamHandlers) => ChatStreamHandle
  /** Streams a generation that is already running (after a reload) from the event after `lastEventId`. */
  resume: (requestId: string, lastEventId: number, handlers?: ChatStreamHandlers) => ChatStreamHandle
}

export const DEFAULT_RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000] as const
export const DEFAULT_HEARTBEAT_SECONDS = 15
/** A stop pressed before `start` keeps the connection this long at most, to learn the requestId. */
const STOP_BEFORE_START_LIMIT_MS = 5000

/** Thrown inside fetch-event-source's callbacks to end a connection without its retry. */
class StreamFailure extends Error {
  constructor(
    readonly failure: ChatStreamError,
    readonly fieldErrors: Record<string, string[]> = {},
  ) {
    super(failure.message)
    this.name = 'StreamFailure'
  }
}

/** A resume answered with a status worth another try (502, 503, 429...). */
class TransientFailure extends Error {
  constructor(readonly retryAfterMs: number) {
    super('transient')
    this.name = 'TransientFailure'
  }
}

/** One answer, across its connections: the POST and any resumes. */
interface StreamRun {
  readonly controller: AbortController
  readonly handlers: ChatStreamHandlers
  status: ChatStreamStatus
  /** Its owner let go (stop or abandon): nothing more is passed on. */
  detached: boolean
  requestId: string | null
  lastEventId: number
  /** The W3C trace of the answer: its resumes and its stop join it. */
  traceId: string | null
  heartbeatMs: number
  /** When the last byte we can see (an event or a `: ping`) arrived: the silence watchdog reads it. */
  lastByteAt: number
  usage: UsageEventData | null
  finishReason: FinishReason | null
  error: ChatStreamError | null
  fieldErrors: Record<string, string[]>
  /** Stop was pressed before `start`: stop on the server as soon as the requestId is known. */
  stopWhenStarted: boolean
  /** Re-arms the silence watchdog of the open connection (the heartbeat changed). */
  rearm?: () => void
}

type Attempt =
  | { kind: 'ended' | 'aborted'; progressed: boolean }
  | { kind: 'lost'; progressed: boolean; retryAfterMs: number }

const isActive = (status: ChatStreamStatus) =>
  status === 'connecting' || status === 'streaming' || status === 'reconnecting'

/** The chat API's stream, for any number of answers one after the other or side by side. */
export function createChatTransport(options: ChatTransportOptions = {}): ChatTransport {
  const url = options.url ?? CHAT_STREAM_PATH
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const reconnectDelays = options.reconnectDelaysMs ?? DEFAULT_RECONNECT_DELAYS_MS
  const defaultHeartbeatMs = 1000 * (options.defaultHeartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS)

  function setStatus(run: StreamRun, next: ChatStreamStatus, reconnect: ChatReconnect | null = null) {
    run.status = next
    if (!run.detached) run.handlers.onStatus?.(next, reconnect)
  }

  function result(run: StreamRun): ChatStreamResult {
    return {
      status: run.status === 'done' || run.status === 'error' ? run.status : 'stopped',
      requestId: run.requestId,
      lastEventId: run.lastEventId,
      finishReason: run.finishReason,
      usage: run.usage,
      error: run.error,
      fieldErrors: run.fieldErrors,
    }
  }

  /** Applies one event to the run and passes it on; true for `finish`/`error`. */
  function dispatch(run: StreamRun, message: EventSourceMessage, id: number): boolean {
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

    const event = { name: message.event, data, id } as ChatStreamEvent
    let terminal = false
    switch (event.name) {
      case ChatEventName.Start: {
        run.requestId = event.data.requestId
        if (TRACE_ID.test(event.data.traceId)) run.traceId = event.data.traceId
        const heartbeat = event.data.heartbeatSeconds
        if (typeof heartbeat === 'number' && heartbeat > 0) {
          run.heartbeatMs = heartbeat * 1000
          run.rearm?.()
        }
        break
      }
      case ChatEventName.Token:
        if (typeof event.data.text !== 'string') return false
        break
      case ChatEventName.ToolCall:
        if (typeof event.data.callId !== 'string' || typeof event.data.name !== 'string') return false
        break
      case ChatEventName.ToolResult:
        if (typeof event.data.callId !== 'string' || typeof event.data.durationMs !== 'number') return false
        break
      case ChatEventName.Usage:
        run.usage = event.data
        break
      case ChatEventName.Finish:
        run.finishReason = event.data.reason
        terminal = true
        break
      case ChatEventName.Error:
        run.error = withRetryAt({
          code: event.data.code,
          message: event.data.message || 'The answer failed.',
          retryAfterSeconds: event.data.retryAfterSeconds,
          // The same prompt would be filtered again; everything else may pass on a retry.
          retryable: event.data.code !== 'content_filtered',
        })
        terminal = true
        break
    }
    run.lastEventId = id
    if (!run.detached) run.handlers.onEvent?.(event)
    // The status changes after the owner saw the event, so a `done` answer already has all of it.
    if (event.name === ChatEventName.Finish) setStatus(run, event.data.reason === 'stopped' ? 'stopped' : 'done')
    else if (event.name === ChatEventName.Error) setStatus(run, 'error')
    return terminal
  }

  function fail(run: StreamRun, failure: ChatStreamError, fields: Record<string, string[]> = {}) {
    run.error = withRetryAt(failure)
    run.fieldErrors = fields
    setStatus(run, 'error')
  }

  /**
   * One connection of a run: reads events until the terminal one, the end of the response, a
   * network error, or twice the heartbeat interval without a byte.
   */
  async function connect(run: StreamRun, body?: string): Promise<Attempt> {
    const resume = body === undefined
    const connection = new AbortController()
    const closeConnection = () => connection.abort()
    run.controller.signal.addEventListener('abort', closeConnection)
    let progressed = false
    let ended = false
    let lost = false
    // The browser says the network is gone: the connection is presumed dead (a stalled socket
    // could take minutes to fail), and the resume waits for the network to come back.
    const goneOffline = () => {
      lost = true
      connection.abort()
    }
    if (typeof window !== 'undefined') window.addEventListener('offline', goneOffline)

    // One timer per connection, not per token: each byte only stamps the time.
    let watchdog: ReturnType<typeof setInterval> | undefined
    const arm = () => {
      clearInterval(watchdog)
      const limit = 2 * run.heartbeatMs
      watchdog = setInterval(
        () => {
          if (Date.now() - run.lastByteAt > limit) {
            lost = true
            connection.abort()
          }
        },
        Math.min(1000, limit / 4),
      )
    }
    run.lastByteAt = Date.now()
    run.rearm = arm
    arm()

    const headers: Record<string, string> = {
      accept: EVENT_STREAM_CONTENT_TYPE,
      traceparent: traceparentFor(run),
    }
    run.traceId ??= headers.traceparent!.split('-')[1]!
    if (resume) {
      if (run.lastEventId >= 0) headers[LAST_EVENT_ID_HEADER] = String(run.lastEventId)
    } else {
      headers['content-type'] = 'application/json'
    }

    try {
      await fetchEventSource(resume ? chatStreamResumePath(run.requestId!, url) : url, {
        method: resume ? 'GET' : 'POST',
        headers,
        body,
        signal: connection.signal,
        // Otherwise the library closes the stream on a hidden tab and POSTs again when it shows.
        openWhenHidden: true,
        fetch: fetchImpl,
        async onopen(response) {
          run.lastByteAt = Date.now()
          const contentType = response.headers.get('content-type') ?? ''
          if (response.ok && contentType.startsWith(EVENT_STREAM_CONTENT_TYPE)) {
            if (isActive(run.status)) setStatus(run, 'streaming')
            return
          }
          throw await failureFromResponse(response, resume)
        },
        onmessage(message) {
          run.lastByteAt = Date.now()
          if (ended) return
          if (run.stopWhenStarted) {
            if (message.event === ChatEventName.Start) {
              dispatch(run, message, Number(message.id))
              stopOnServer(run)
              run.controller.abort()
            }
            return
          }
          if (run.detached) return
          // A resume sends what follows Last-Event-ID; an event seen already is never applied twice.
          const id = message.id === '' ? Number.NaN : Number(message.id)
          if (!Number.isInteger(id) || id <= run.lastEventId) return
          progressed = true
          ended = dispatch(run, message, id)
        },
        onclose() {
          // Returning would let the library resolve; throwing reaches onerror, which rethrows.
          // Either way it does not re-POST. A close before finish/error is a lost connection.
          if (!ended) throw new TransientFailure(0)
        },
        onerror(err: unknown) {
          // Rethrowing is the only way to stop fetch-event-source from retrying (a second POST,
          // a second paid answer). Reconnection is this module's, with GET.
          throw err
        },
      })
    } catch (err) {
      if (err instanceof StreamFailure) {
        fail(run, err.failure, err.fieldErrors)
        return { kind: 'ended', progressed }
      }
      if (err instanceof TransientFailure) return { kind: 'lost', progressed, retryAfterMs: err.retryAfterMs }
      // Anything else is the network: a refused connection, a reset, going offline.
    } finally {
      clearInterval(watchdog)
      run.rearm = undefined
      run.controller.signal.removeEventListener('abort', closeConnection)
      if (typeof window !== 'undefined') window.removeEventListener('offline', goneOffline)
    }
    if (ended) return { kind: 'ended', progressed }
    if (run.controller.signal.aborted && !lost) return { kind: 'aborted', progressed }
    return { kind: 'lost', progressed, retryAfterMs: 0 }
  }

  /** The first connection, then resumes while the connection keeps getting lost. */
  async function follow(run: StreamRun, body?: string): Promise<ChatStreamResult> {
    let attempt = await connect(run, body)
    let failedTries = 0
    // A run stopped before `start` is only waiting to learn its requestId: nothing to resume.
    while (attempt.kind === 'lost' && !run.controller.signal.aborted && !run.stopWhenStarted) {
      if (attempt.progressed) failedTries = 0
      if (!run.requestId) {
        // Without `start` there is nothing to resume, and a second POST would be a second answer.
        fail(run, {
          code: 'connection_lost',
          message: 'The connection was lost before the answer started.',
          retryable: true,
        })
        break
      }
      if (failedTries >= reconnectDelays.length) {
        fail(run, {
          code: 'connection_lost',
          message: 'The connection was lost and could not be restored. The text received so far is kept.',
          retryable: true,
        })
        break
      }
      setStatus(run, 'reconnecting', { attempt: failedTries + 1, tries: reconnectDelays.length })
      const waitMs = Math.max(reconnectDelays[failedTries] ?? 0, attempt.retryAfterMs)
      failedTries++
      if (!(await pause(run.controller.signal, waitMs))) break
      attempt = await connect(run)
    }
    // Still running here means the signal was aborted (stop or abandon).
    if (isActive(run.status)) setStatus(run, 'stopped')
    return result(run)
  }

  function stopOnServer(run: StreamRun) {
    if (!run.requestId) return
    // keepalive: the stop still goes out when the page is closing.
    void fetchImpl(chatStreamStopPath(run.requestId, url), {
      method: 'POST',
      keepalive: true,
      headers: { traceparent: traceparentFor(run) },
    }).catch(() => {
      // Nobody reading it any more, the server cancels the generation by itself.
    })
  }

  function open(handlers: ChatStreamHandlers, requestId: string | null, lastEventId: number, body?: string): ChatStreamHandle {
    const run: StreamRun = {
      controller: new AbortController(),
      handlers,
      status: 'connecting',
      detached: false,
      requestId,
      lastEventId,
      traceId: null,
      heartbeatMs: defaultHeartbeatMs,
      lastByteAt: Date.now(),
      usage: null,
      finishReason: null,
      error: null,
      fieldErrors: {},
      stopWhenStarted: false,
    }
    return {
      result: follow(run, body),
      stop() {
        if (run.detached) return
        run.detached = true
        if (isActive(run.status)) run.status = 'stopped'
        if (run.requestId) {
          stopOnServer(run)
          run.controller.abort()
        } else {
          // No requestId yet: keep the connection until `start` names the generation, then stop it.
          run.stopWhenStarted = true
          setTimeout(() => run.controller.abort(), STOP_BEFORE_START_LIMIT_MS)
        }
      },
      abandon() {
        run.detached = true
        run.controller.abort()
      },
    }
  }

  return {
    send: (request, handlers = {}) => open(handlers, null, -1, JSON.stringify(request)),
    resume: (requestId, lastEventId, handlers = {}) => open(handlers, requestId, lastEventId),
  }
}

const TRACE_ID = /^[0-9a-f]{32}$/

/** A new span in the answer's trace once it has one, else a new trace. */
function traceparentFor(run: StreamRun): string {
  const fresh = createTraceparent()
  return run.traceId ? `00-${run.traceId}-${fresh.split('-')[2]}-01` : fresh
}

/** The wait as a moment, so that it counts down the same whenever and wherever it is shown. */
function withRetryAt(error: ChatStreamError): ChatStreamError {
  return error.retryAfterSeconds && error.retryAfterSeconds > 0
    ? { ...error, retryAt: Date.now() + error.retryAfterSeconds * 1000 }
    : error
}

/** Resolves true after `ms` (or, offline, once the browser is back online); false when aborted. */
function pause(signal: AbortSignal, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false)
      return
    }
    const offline = typeof navigator !== 'undefined' && navigator.onLine === false && typeof window !== 'undefined'
    let timer: ReturnType<typeof setTimeout> | undefined
    const done = (ok: boolean) => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      if (offline) window.removeEventListener('online', onOnline)
      resolve(ok)
    }
    const onAbort = () => done(false)
    const onOnline = () => done(true)
    signal.addEventListener('abort', onAbort)
    // Tries made while offline would all fail at once: wait for the network instead.
    if (offline) window.addEventListener('online', onOnline)
    else timer = setTimeout(() => done(true), ms)
  })
}

/** Seconds of a `Retry-After` header: delta-seconds or an HTTP date. */
function retryAfterSeconds(response: Response): number | undefined {
  const value = response.headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+$/.test(value)) return Number(value)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

async function failureFromResponse(response: Response, resume: boolean): Promise<Error> {
  const contentType = response.headers.get('content-type') ?? ''
  const retryAfter = retryAfterSeconds(response)
  const problem = contentType.includes('json')
    ? ((await response.json().catch(() => null)) as ValidationProblemDetails | null)
    : null
  const detail = problem?.detail ?? problem?.title

  if (resume) {
    if (response.status === 404) {
      return new StreamFailure({
        code: 'stream_gone',
        message: 'The server no longer has this answer. The text received so far is kept.',
        status: 404,
        retryable: true,
      })
    }
    // Busy, limited or a proxy in trouble: the generation may well still be there.
    if (response.status === 429 || response.status === 408 || response.status >= 500) {
      return new TransientFailure((retryAfter ?? 0) * 1000)
    }
  }

  const errors = problem?.errors ?? {}
  if (response.status === 400 && Object.keys(errors).length > 0) {
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
  if (response.status === 429) {
    return new StreamFailure({
      code: 'rate_limited',
      message: detail ?? 'Too many requests.',
      status: 429,
      retryAfterSeconds: retryAfter,
      retryable: true,
    })
  }
  if (response.status === 503) {
    return new StreamFailure({
      code: 'server_busy',
      message: detail ?? 'The server is busy.',
      status: 503,
      retryAfterSeconds: retryAfter,
      retryable: true,
    })
  }
  const retryable = response.status >= 500 || response.status === 408
  return new StreamFailure({
    code: 'http_error',
    message:
      detail ??
      (response.ok
        ? `Unexpected response (${contentType || 'no content type'}).`
        : `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`),
    status: response.status,
    retryAfterSeconds: retryAfter,
    retryable: response.ok ? false : retryable,
  })
}
