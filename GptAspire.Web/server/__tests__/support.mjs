// Test helpers shared by the server specs: raw HTTP (fetch would normalize the paths under
// test), a logger whose records the test can read, stand-in servers on loopback (the stand-in
// chat API among them), and the web server as a child process.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'

export const webRoot = fileURLToPath(new URL('../..', import.meta.url))
export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts a stand-in server (an API, a collector) on 127.0.0.1 and a free port.
 * `close` ends its open connections too.
 * @param {import('node:net').Server} server
 */
export async function listenOnLoopback(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** @returns {Promise<void>} */
    close: () =>
      new Promise((resolve) => {
        if (server instanceof http.Server) server.closeAllConnections()
        server.close(() => resolve(undefined))
      }),
  }
}

/**
 * @typedef {object} StandInRequest What reached the stand-in API, recorded as it arrives.
 * @property {string} method
 * @property {string} url The request target as sent (path and query).
 * @property {number | undefined} port The client's end of the connection (the same port: a reused connection).
 * @property {http.IncomingHttpHeaders} headers
 * @property {string} body The whole body, once it has been read ('' until then).
 * @property {Promise<number>} closed Resolves with the time the response's connection closed.
 * @property {boolean} aborted The client went away before the response ended.
 */

/**
 * @typedef {object} StandInContext What a route override gets besides `req` and `res`.
 * @property {URL} url
 * @property {string} body
 * @property {StandInRequest} record
 * @property {(status: number, value: unknown, headers?: http.OutgoingHttpHeaders) => void} json
 * @property {(status: number, title?: string, headers?: http.OutgoingHttpHeaders) => void} problem ProblemDetails.
 * @property {(events: StandInEvent[]) => Promise<void>} stream Event-stream headers, then the events `eventDelayMs` apart.
 */

/** @typedef {[id: number, name: string, data: unknown]} StandInEvent */
/** @typedef {(req: http.IncomingMessage, res: http.ServerResponse, context: StandInContext) => void} StandInRoute */

/** The answer of `POST /api/chat/stream`. */
const CHAT_EVENTS = /** @type {StandInEvent[]} */ ([
  [0, 'start', { requestId: 'r1' }],
  [1, 'token', { text: 'Hi' }],
  [2, 'finish', { reason: 'stop' }],
])

/** Generation r1, which `GET /api/chat/stream/r1` replays after Last-Event-ID (or ?lastEventId=). */
const GENERATION_R1 = /** @type {StandInEvent[]} */ ([
  [0, 'start', { requestId: 'r1', heartbeatSeconds: 15, maxTokens: 500 }],
  [1, 'token', { text: 'Hel' }],
  [2, 'token', { text: 'lo' }],
  [3, 'token', { text: '!' }],
  [4, 'usage', { promptTokens: 8, completionTokens: 3, totalTokens: 11, remainingTokens: 100 }],
  [5, 'finish', { reason: 'stop' }],
])

/**
 * Starts a stand-in for the chat API on 127.0.0.1 and a free port; every request is recorded in
 * `requests` as it arrives, and answered once its body has been read. Routes:
 * - `POST /api/chat/stream`: start, token, finish (`?full=api` 503, `?full=client` 429, Retry-After 7);
 *   with `validateChat`, 400 unless the body is JSON with at least one message.
 * - `GET /api/chat/stream/r1`: generation r1 after Last-Event-ID or ?lastEventId=, ids kept; other ids 404.
 * - `POST /api/chat/stream/{r1|ended|other}/stop`: 202, 200, 404.
 * - `/api/info`, `/health`: the model's info, Healthy.
 * - Faults: `/api/hang` starts a stream and never ends it, `/api/cut` closes the connection 300 ms
 *   into one, `/api/problem` is a 400 ProblemDetails with field errors.
 * - Anything else: 404 `{"status":404}`.
 * `routes` overrides or adds: keys `'METHOD /path'`, `'/path'` (any method), or `'*'` (every
 * request no other key matches, in place of the routes above).
 * @param {{ eventDelayMs?: number, validateChat?: boolean, routes?: Record<string, StandInRoute> }} [options]
 *   eventDelayMs: the pause between a stream's events (0: all at once).
 */
export async function startStandInApi({ eventDelayMs = 0, validateChat = false, routes = {} } = {}) {
  /** @type {StandInRequest[]} */
  const requests = []
  const server = http.createServer((req, res) => {
    /** @type {(value: number) => void} */
    let markClosed = () => {}
    /** @type {StandInRequest} */
    const record = {
      method: req.method ?? '',
      url: req.url ?? '',
      port: req.socket.remotePort,
      headers: req.headers,
      body: '',
      closed: new Promise((resolve) => (markClosed = resolve)),
      aborted: false,
    }
    res.on('close', () => {
      record.aborted = !res.writableFinished
      markClosed(Date.now())
    })
    requests.push(record)
    /** @type {Buffer[]} */
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('error', () => res.destroy())
    req.on('end', () => {
      record.body = Buffer.concat(chunks).toString('utf8')
      const url = new URL(req.url ?? '/', 'http://api')
      /** @type {StandInContext} */
      const context = {
        url,
        body: record.body,
        record,
        json: (status, value, headers = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers })
          res.end(JSON.stringify(value))
        },
        problem: (status, title, headers = {}) => {
          res.writeHead(status, { 'content-type': 'application/problem+json', ...headers })
          res.end(JSON.stringify({ title, status }))
        },
        stream: async (events) => {
          startEventStream(res)
          for (const [index, event] of events.entries()) {
            if (index > 0 && eventDelayMs > 0) await sleep(eventDelayMs)
            if (res.destroyed) return
            writeEvent(res, event)
          }
          res.end()
        },
      }
      const route = routes[`${req.method} ${url.pathname}`] ?? routes[url.pathname] ?? routes['*'] ?? builtInRoute
      route(req, res, context)
    })
  })

  /** @type {StandInRoute} */
  function builtInRoute(req, res, { url, body, json, problem, stream }) {
    const stop = /^\/api\/chat\/stream\/([^/]+)\/stop$/.exec(url.pathname)
    const streamId = /^\/api\/chat\/stream\/([^/]+)$/.exec(url.pathname)?.[1]
    if (url.pathname === '/api/chat/stream' && req.method === 'POST') {
      const full = url.searchParams.get('full')
      if (full) return problem(full === 'api' ? 503 : 429, full === 'api' ? 'Busy.' : 'Too many requests.', { 'retry-after': '7' })
      if (validateChat && !hasMessages(body)) return problem(400, 'One or more validation errors occurred.')
      void stream(CHAT_EVENTS)
    } else if (streamId !== undefined && req.method === 'GET') {
      if (streamId !== 'r1') return problem(404, 'No such stream.')
      const after = Number(req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? -1)
      void stream(GENERATION_R1.filter(([id]) => id > after))
    } else if (stop && req.method === 'POST') {
      if (stop[1] === 'r1') res.writeHead(202).end()
      else if (stop[1] === 'ended') res.writeHead(200).end()
      else problem(404, 'No such stream.')
    } else if (url.pathname === '/api/info') {
      json(200, { model: 'gpt-4o-mini', contextWindow: 128000, usingEmulator: true })
    } else if (url.pathname === '/health') {
      json(200, { status: 'Healthy' })
    } else if (url.pathname === '/api/hang' || url.pathname === '/api/cut') {
      startEventStream(res)
      writeEvent(res, [0, 'start', { requestId: 'r1' }])
      if (url.pathname === '/api/cut') setTimeout(() => req.socket.destroy(), 300)
    } else if (url.pathname === '/api/problem') {
      res.writeHead(400, { 'content-type': 'application/problem+json' })
      res.end(JSON.stringify({ title: 'One or more validation errors occurred.', status: 400, errors: { maxTokens: ['Too many.'] } }))
    } else {
      json(404, { status: 404 })
    }
  }

  return { ...(await listenOnLoopback(server)), requests }
}

/** @param {string} body */
function hasMessages(body) {
  try {
    const parsed = JSON.parse(body)
    return Array.isArray(parsed?.messages) && parsed.messages.length > 0
  } catch {
    return false
  }
}

/** @param {http.ServerResponse} res */
function startEventStream(res) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' })
  res.flushHeaders()
}

/** @param {http.ServerResponse} res @param {StandInEvent} event */
function writeEvent(res, [id, name, data]) {
  res.write(`id: ${id}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
}

/**
 * One request with the path exactly as given (no URL normalization), and the whole answer.
 * @param {string} base e.g. http://127.0.0.1:1234
 * @param {string} method
 * @param {string} requestPath sent as is
 * @param {{ headers?: Record<string, string>, body?: string }} [options]
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string }>}
 */
export function rawRequest(base, method, requestPath, options = {}) {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: requestPath, headers: options.headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** A pino logger that keeps its records for the test to read. */
export function capturingLogger() {
  /** @type {Record<string, any>[]} */
  const records = []
  const logger = pino({ level: 'debug' }, { write: (line) => void records.push(JSON.parse(line)) })
  return { logger, records }
}

/** A minimal built app (`dist/`) for production mode. */
export async function makeDist() {
  const distDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gptaspire-web-dist-'))
  await fs.mkdir(path.join(distDir, 'assets'))
  await fs.writeFile(path.join(distDir, 'index.html'), '<!doctype html><title>app</title><div id="app"></div>')
  await fs.writeFile(path.join(distDir, 'assets', 'index-Bx9Xk2Qa.js'), 'console.log("app")')
  await fs.writeFile(path.join(distDir, 'favicon.ico'), 'icon')
  return { distDir, remove: () => fs.rm(distDir, { recursive: true, force: true }) }
}

/**
 * Runs `node --import ./server/instrumentation.mjs server/index.mjs [args]` as npm run dev / start do.
 * @param {NodeJS.ProcessEnv} env
 * @param {string[]} [args]
 */
export function startProcess(env, args = []) {
  return spawnServer(['--import', './server/instrumentation.mjs', 'server/index.mjs', ...args], {
    HOST: '127.0.0.1',
    PORT: '0',
    ...env,
  })
}

/**
 * Runs node with `nodeArgs` in the web project, with only PATH and `env` in its environment, and waits
 * for its `web server listening` log line.
 * @param {string[]} nodeArgs
 * @param {NodeJS.ProcessEnv} [env]
 */
export function spawnServer(nodeArgs, env = {}) {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: webRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  /** @returns {Promise<string>} the base URL, from the startup log line, once /health says the server is ready */
  const listening = async () => {
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      const line = output.split('\n').find((l) => l.includes('web server listening'))
      if (line) {
        const url = JSON.parse(line).url
        // In development, ready once Vite is up.
        if ((await fetch(`${url}/health`).catch(() => undefined))?.status === 200) return url
      }
      if (child.exitCode !== null) break
      await sleep(50)
    }
    throw new Error(`The server did not start:\n${output}`)
  }
  return { child, exited, listening, output: () => output }
}
