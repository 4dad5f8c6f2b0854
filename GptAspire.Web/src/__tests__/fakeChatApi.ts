// A real HTTP server on 127.0.0.1 that speaks the chat API's stream contract in its exact wire
// format (id/event/data lines, `: ping` comments) with real delays between events:
//   POST /api/chat/stream                  starts a generation and streams it
//   GET  /api/chat/stream/{id}             the same generation, after Last-Event-ID (or ?lastEventId=)
//   POST /api/chat/stream/{id}/stop        usage, then finish `stopped`, to every reader
//   GET  /api/info                         the model and limits (FAKE_INFO); not recorded in `requests`
// As in the API, a generation runs on its own: a reader that goes away does not end it.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChatEventMap, ChatInfo, ChatRequest, FinishReason } from '@/api/chatEvents'

/** What the fake's `GET /api/info` answers: the API's defaults. */
export const FAKE_INFO: ChatInfo = {
  model: 'gpt-test',
  contextWindow: 128000,
  usingEmulator: true,
  maxPromptTokens: 32000,
  defaultMaxTokens: 4096,
  maxOutputTokens: 16384,
  maxTemperature: 2,
  tools: ['get_current_time', 'calculate'],
}

export type Step =
  | { event: string; data: unknown }
  | { comment: string }
  | { delay: number }
  /** Cuts the connections reading now; the generation goes on. */
  | { disconnect: true }
  /** The connections reading now get nothing more (left open, silent); the generation goes on. */
  | { stall: true }

export interface Scenario {
  status?: number
  headers?: Record<string, string>
  /** A non-stream body (ProblemDetails, plain text). */
  body?: string
  steps?: Step[]
  /**
   * After the steps: end the readers' responses (default), cut their sockets, or keep them open.
   * Only the first two end the generation: a resume then replays it and ends the same way.
   */
  end?: 'end' | 'destroy' | 'hang'
}

export interface RecordedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  /** The JSON body of a POST (`{ messages: [] }` when there is none). */
  body: ChatRequest
  /** `Date.now()` when the request arrived. */
  receivedAt: number
  /** Resolves when the connection of this request closes, however it closes. */
  closed: Promise<void>
  /** True once the client went away before the response ended. */
  aborted: boolean
}

export interface FakeChatApi {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string
  /** Every request, in order: POSTs, resumes and stops. */
  requests: RecordedRequest[]
  /** The `POST /api/chat/stream` requests alone: each one is a paid answer. */
  posts: () => RecordedRequest[]
  /** The `GET /api/chat/stream/{id}` requests alone. */
  resumes: () => RecordedRequest[]
  /** The `POST /api/chat/stream/{id}/stop` requests alone. */
  stops: () => RecordedRequest[]
  /** Decides the answer to each POST (0-based index among the POSTs). */
  handle: (handler: (request: RecordedRequest, index: number) => Scenario) => void
  /**
   * Decides the answer to each resume (0-based index among the resumes): `undefined` streams the
   * generation, a scenario with a `status` or `body` answers that instead.
   */
  handleResume: (handler: (request: RecordedRequest, index: number) => Scenario | undefined) => void
  /** Forgets a generation, as the API does 5 minutes after it ended: its resume gets 404. */
  expire: (requestId: string) => void
  /** Between tests: forgets the requests, the generations and the resume handler. */
  reset: () => void
  /** `fetch` that sends the app's relative `/api/...` URLs to this server, with Node's fetch. */
  fetch: typeof fetch
  close: () => Promise<void>
}

/** The reconnection delay every event stream announces. */
export const RETRY_MS = 50

/** Long enough for a client that reconnects after an event stream to have done so. */
export const AFTER_RETRY_MS = 300

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export type StartOptions = Partial<ChatEventMap['start']>

/** A `start` event as the API sends it. */
export function startStep(options: StartOptions = {}): Step {
  const { promptTokens = 20, contextWindow = 4096 } = options
  const start: ChatEventMap['start'] = {
    requestId: 'req-1',
    model: 'gpt-test',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    promptTokens,
    contextWindow,
    remainingTokens: contextWindow - promptTokens,
    heartbeatSeconds: 15,
    maxTokens: 4096,
    ...options,
  }
  return { event: 'start', data: start }
}

/** A full successful answer: start, one token event per piece (delayMs apart), usage, finish. */
export function answer(
  pieces: string[],
  options: StartOptions & { delayMs?: number; reason?: FinishReason } = {},
): Step[] {
  const { delayMs = 0, reason = 'stop', ...start } = options
  const { promptTokens = 20, contextWindow = 4096 } = start
  const usage: ChatEventMap['usage'] = {
    promptTokens,
    completionTokens: pieces.length,
    totalTokens: promptTokens + pieces.length,
    remainingTokens: contextWindow - promptTokens - pieces.length,
  }
  return [
    startStep(start),
    ...pieces.flatMap((text): Step[] => [...(delayMs ? [{ delay: delayMs }] : []), { event: 'token', data: { text } }]),
    { event: 'usage', data: usage },
    { event: 'finish', data: { reason } },
  ]
}

/** A `tool_call` event as the API sends it: the call's arguments are complete, the tool is about to run. */
export function toolCall(callId: string, name: string, args: Record<string, unknown> | null = {}): Step {
  const data: ChatEventMap['tool_call'] = { callId, name, arguments: args }
  return { event: 'tool_call', data }
}

/** A `tool_result` event: what the tool returned, or its error. */
export function toolResult(callId: string, name: string, outcome: { result: unknown } | { error: string }, durationMs = 12): Step {
  const data: ChatEventMap['tool_result'] = { callId, name, ...outcome, durationMs }
  return { event: 'tool_result', data }
}

/** Cuts the connection once what was written has left: the client sees every byte, then a reset. */
function cut(res: http.ServerResponse) {
  res.write('', () => res.destroy())
}

interface Reader {
  res: http.ServerResponse
  stalled: boolean
}

/** One answer on the server: its events (kept for resumes) and whoever reads them now. */
interface Generation {
  frames: { id: number; text: string }[]
  readers: Set<Reader>
  /** How the readers' responses end, once the generation has: undefined while it runs. */
  ended?: 'end' | 'destroy'
  stopped: boolean
  tokens: number
  promptTokens: number
  remainingTokens: number
}

const STREAM_PATH = '/api/chat/stream'

export async function startFakeChatApi(): Promise<FakeChatApi> {
  const requests: RecordedRequest[] = []
  const generations = new Map<string, Generation>()
  let handler: (request: RecordedRequest, index: number) => Scenario = () => ({ steps: answer(['Hello']) })
  let resumeHandler: (request: RecordedRequest, index: number) => Scenario | undefined = () => undefined

  const posts = () => requests.filter((r) => r.method === 'POST' && r.url === STREAM_PATH)
  const resumes = () => requests.filter((r) => r.method === 'GET' && r.url.startsWith(`${STREAM_PATH}/`))
  const stops = () => requests.filter((r) => r.method === 'POST' && r.url.endsWith('/stop'))

  function openStream(res: http.ServerResponse, scenario: Scenario) {
    res.writeHead(scenario.status ?? 200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      ...scenario.headers,
    })
    // A client that (wrongly) reconnected by itself would do it within 50 ms instead of the
    // default 1 s, so "no second POST" checks need not wait long.
    res.write(`retry: ${RETRY_MS}\n\n`)
  }

  function broadcast(generation: Generation, text: string) {
    for (const reader of generation.readers) if (!reader.stalled && !reader.res.destroyed) reader.res.write(text)
  }

  function finish(generation: Generation, how: 'end' | 'destroy') {
    generation.ended = how
    for (const reader of generation.readers) {
      if (how === 'destroy') cut(reader.res)
      else reader.res.end()
    }
    generation.readers.clear()
  }

  function append(generation: Generation, event: string, data: unknown) {
    const id = generation.frames.length
    const text = `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    generation.frames.push({ id, text })
    broadcast(generation, text)
  }

  async function run(generation: Generation, scenario: Scenario) {
    for (const step of scenario.steps ?? []) {
      if (generation.stopped) return
      if ('delay' in step) await sleep(step.delay)
      else if ('comment' in step) broadcast(generation, `: ${step.comment}\n\n`)
      else if ('disconnect' in step) {
        for (const reader of generation.readers) cut(reader.res)
        generation.readers.clear()
      } else if ('stall' in step) {
        for (const reader of generation.readers) reader.stalled = true
      } else {
        if (step.event === 'start') {
          const start = step.data as ChatEventMap['start']
          generations.set(start.requestId, generation)
          generation.promptTokens = start.promptTokens
          generation.remainingTokens = start.remainingTokens
        }
        if (step.event === 'token') generation.tokens++
        append(generation, step.event, step.data)
      }
    }
    if (generation.stopped) return
    if (scenario.end !== 'hang') finish(generation, scenario.end ?? 'end')
  }

  function addReader(generation: Generation, res: http.ServerResponse) {
    const reader: Reader = { res, stalled: false }
    generation.readers.add(reader)
    res.on('close', () => generation.readers.delete(reader))
  }

  function problem(res: http.ServerResponse, status: number, title: string) {
    res.writeHead(status, { 'content-type': 'application/problem+json' })
    res.end(JSON.stringify({ title, status }))
  }

  const server = http.createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/api/info') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(FAKE_INFO))
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: ChatRequest
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest
    } catch {
      body = { messages: [] }
    }
    let markClosed!: () => void
    const recorded: RecordedRequest = {
      receivedAt: Date.now(),
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
      aborted: false,
    }
    res.on('close', () => {
      recorded.aborted = !res.writableFinished
      markClosed()
    })
    requests.push(recorded)

    const url = new URL(recorded.url, 'http://fake')
    const match = /^\/api\/chat\/stream\/([^/]+)(\/stop)?$/.exec(url.pathname)

    if (req.method === 'POST' && url.pathname === STREAM_PATH) {
      const scenario = handler(recorded, posts().length - 1)
      if (scenario.body !== undefined) {
        res.writeHead(scenario.status ?? 200, scenario.headers)
        res.end(scenario.body)
        return
      }
      const generation: Generation = {
        frames: [],
        readers: new Set(),
        stopped: false,
        tokens: 0,
        promptTokens: 0,
        remainingTokens: 0,
      }
      openStream(res, scenario)
      addReader(generation, res)
      void run(generation, scenario)
      return
    }

    if (req.method === 'GET' && match && !match[2]) {
      const custom = resumeHandler(recorded, resumes().length - 1)
      if (custom && (custom.status !== undefined || custom.body !== undefined)) {
        res.writeHead(custom.status ?? 200, custom.headers)
        res.end(custom.body ?? '')
        return
      }
      const generation = generations.get(decodeURIComponent(match[1]!))
      if (!generation) return problem(res, 404, 'No such stream.')
      const header = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? '-1'
      const after = Number(header)
      openStream(res, {})
      for (const frame of generation.frames) if (frame.id > after) res.write(frame.text)
      if (generation.ended === 'destroy') cut(res)
      else if (generation.ended === 'end') res.end()
      else addReader(generation, res)
      return
    }

    if (req.method === 'POST' && match?.[2]) {
      const generation = generations.get(decodeURIComponent(match[1]!))
      if (!generation) return problem(res, 404, 'No such stream.')
      if (generation.ended || generation.stopped) {
        res.writeHead(200).end()
        return
      }
      generation.stopped = true
      append(generation, 'usage', {
        promptTokens: generation.promptTokens,
        completionTokens: generation.tokens,
        totalTokens: generation.promptTokens + generation.tokens,
        remainingTokens: generation.remainingTokens - generation.tokens,
      })
      append(generation, 'finish', { reason: 'stopped' })
      finish(generation, 'end')
      res.writeHead(202).end()
      return
    }

    problem(res, 404, 'Not found.')
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    requests,
    posts,
    resumes,
    stops,
    handle(next) {
      handler = next
    },
    handleResume(next) {
      resumeHandler = next
    },
    expire(requestId) {
      generations.delete(requestId)
    },
    reset() {
      requests.length = 0
      generations.clear()
      resumeHandler = () => undefined
    },
    fetch: (input, init) => globalThis.fetch(new URL(String(input), url), init),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Polls until `check` passes (or fails after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await sleep(10)
  }
}
