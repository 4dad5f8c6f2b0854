// A real HTTP server on 127.0.0.1 that answers POST /api/chat/stream in the API's exact wire
// format (id/event/data lines, `: ping` comments) with real delays between events.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChatEventMap, ChatRequest, FinishReason } from '@/api/chatEvents'

export type Step =
  | { event: string; data: unknown }
  | { comment: string }
  | { delay: number }

export interface Scenario {
  status?: number
  headers?: Record<string, string>
  /** A non-stream body (ProblemDetails, plain text). */
  body?: string
  steps?: Step[]
  /** After the steps: end the response (default), cut the socket, or keep it open. */
  end?: 'end' | 'destroy' | 'hang'
}

export interface RecordedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: ChatRequest
  /** Resolves when the connection of this request closes, however it closes. */
  closed: Promise<void>
  /** True once the client went away before the response ended. */
  aborted: boolean
}

export interface FakeChatApi {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string
  requests: RecordedRequest[]
  /** Decides the answer to each request (0-based index). */
  handle: (handler: (request: RecordedRequest, index: number) => Scenario) => void
  /** `fetch` that sends the app's relative `/api/...` URLs to this server, with Node's fetch. */
  fetch: typeof fetch
  close: () => Promise<void>
}

/** The reconnection delay every event stream announces. */
export const RETRY_MS = 50

/** Long enough for a client that reconnects after an event stream to have done so. */
export const AFTER_RETRY_MS = 300

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A full successful answer: start, one token event per piece (delayMs apart), usage, finish. */
export function answer(
  pieces: string[],
  options: { delayMs?: number; reason?: FinishReason; promptTokens?: number; contextWindow?: number } = {},
): Step[] {
  const { delayMs = 0, reason = 'stop', promptTokens = 20, contextWindow = 4096 } = options
  const start: ChatEventMap['start'] = {
    requestId: 'req-1',
    model: 'gpt-test',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    promptTokens,
    contextWindow,
    remainingTokens: contextWindow - promptTokens,
  }
  const usage: ChatEventMap['usage'] = {
    promptTokens,
    completionTokens: pieces.length,
    totalTokens: promptTokens + pieces.length,
    remainingTokens: contextWindow - promptTokens - pieces.length,
  }
  return [
    { event: 'start', data: start },
    ...pieces.flatMap((text): Step[] => [...(delayMs ? [{ delay: delayMs }] : []), { event: 'token', data: { text } }]),
    { event: 'usage', data: usage },
    { event: 'finish', data: { reason } },
  ]
}

export async function startFakeChatApi(): Promise<FakeChatApi> {
  const requests: RecordedRequest[] = []
  let handler: (request: RecordedRequest, index: number) => Scenario = () => ({ steps: answer(['Hello']) })

  const server = http.createServer(async (req, res) => {
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
    const index = requests.push(recorded) - 1
    const scenario = handler(recorded, index)

    if (scenario.body !== undefined) {
      res.writeHead(scenario.status ?? 200, scenario.headers)
      res.end(scenario.body)
      return
    }
    res.writeHead(scenario.status ?? 200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      ...scenario.headers,
    })
    // A client that (wrongly) reconnected would do it within 50 ms instead of the default 1 s,
    // so "no second POST" checks need not wait long.
    res.write(`retry: ${RETRY_MS}\n\n`)
    let id = 0
    for (const step of scenario.steps ?? []) {
      if (res.destroyed) return
      if ('delay' in step) await sleep(step.delay)
      else if ('comment' in step) res.write(`: ${step.comment}\n\n`)
      else res.write(`id: ${id++}\nevent: ${step.event}\ndata: ${JSON.stringify(step.data)}\n\n`)
    }
    if (scenario.end === 'destroy') res.destroy()
    else if (scenario.end !== 'hang') res.end()
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    requests,
    handle(next) {
      handler = next
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
