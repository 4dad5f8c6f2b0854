// Malformed requests, generated from a fixed seed (FUZZ_SEED to try others), sent over raw TCP
// on loopback to the web server running as a process of its own, in front of a stand-in API.
// No answer may be a 5xx, the process must not crash, and it must stay healthy and useful.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeDist, spawnServer, startProcess, startStandInApi } from './support.mjs'

const SEED = Number(process.env.FUZZ_SEED ?? 20251126)
const PER_REQUEST_MS = 3000
const CONCURRENCY = 24

/** @param {number} seed A small, seedable PRNG (mulberry32), so that a failure can be replayed. */
function random(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** @template T @param {readonly T[]} items @returns {T} */
  const pick = (items) => /** @type {T} */ (items[Math.floor(next() * items.length)])
  /** @param {number} probability */
  const chance = (probability) => next() < probability
  /** @param {number} length */
  const bytes = (length) => Buffer.from(Array.from({ length }, () => Math.floor(next() * 256)))
  return { next, pick, chance, bytes }
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'POS T', 'G\x00T', 'X'.repeat(300), '']
const PATHS = [
  '/',
  '/index.html',
  '/health',
  '/api/info',
  '/api/chat/stream',
  '/api/chat/stream/r1',
  '/api/chat/stream/r1/stop',
  '/api/chat/stream/unknown',
  '/assets/index-Bx9Xk2Qa.js',
  '/favicon.ico',
  '/src/main.ts',
  '/@vite/client',
  '/@fs/etc/passwd',
  '/node_modules/.vite/deps/vue.js',
  '/chats/42',
]
const PATH_NOISE = [
  '..', '%2e%2e', '.%2e', '%252e%252e', '%2f', '%2F', '%5c', '\\', '/', '//', '%00', '%', '%zz', '%c0%ae', '%ff%fe',
  '..;', ';x', '~', '\u00e9', '\u202e', ' ', '\t', '?a=%zz', '?lastEventId=-1', '?lastEventId=1e309', '#frag', '*', '@', ':',
]
const HEADER_NOISE = [
  'Host: ',
  'Host: evil.example\r\nHost: other.example',
  'Content-Type: application/json',
  'Content-Type: text/plain; charset=utf-16',
  'Content-Type: \x01\x02',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Content-Length: 5\r\nContent-Length: 6',
  'Content-Length: abc',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: xchunked',
  'Last-Event-ID: -1',
  'Last-Event-ID: 99999999999999999999999',
  'Last-Event-ID: \u00ff\u00fe',
  `Last-Event-ID: ${'9'.repeat(5000)}`,
  'traceparent: 00-zz-zz-zz',
  'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  'tracestate: ,,,,=',
  'baggage: %%%',
  'Cookie: session=x',
  'Authorization: Bearer x',
  'X-Forwarded-For: not an address, ::ffff:999.1.1.1, 1.2.3.4',
  'X-Forwarded-Proto: gopher',
  'X-MS-CLIENT-PRINCIPAL: !!!not base64',
  'Accept: text/event-stream',
  'Accept: */*;q=abc',
  'Accept-Encoding: gzip, br, zstd',
  'Expect: 100-continue',
  'Expect: 417-nope',
  'Upgrade: websocket\r\nConnection: Upgrade',
  'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings',
  'Range: bytes=99999-1',
  'If-None-Match: *',
  'NoColonHeader',
  'Bad Header: x',
  ' Folded: continued',
  'X-Null: a\x00b',
  `X-Huge: ${'a'.repeat(20_000)}`,
]
const BODIES = [
  '',
  '{}',
  '[]',
  'null',
  '{"messages":[{"role":"user","content":"Hello"}]}',
  '{"messages":[{"role":"robot","content":""}],"maxTokens":-5,"temperature":"hot"}',
  '{"messages":',
  '{"messages":[{"role":"user","content":"\\ud800"}]}',
  '['.repeat(5000),
  '\u0000\u0001\u0002',
]

/**
 * One malformed (or merely odd) HTTP/1.1 request as raw bytes: a plausible request with one to
 * three things wrong with it (method, target, version, headers, body, framing), so that most get
 * past the HTTP parser and reach the server's own code.
 * @param {ReturnType<typeof random>} r
 * @returns {Buffer}
 */
function generateRequest(r) {
  let method = r.pick(['GET', 'POST', 'POST', 'HEAD', 'OPTIONS', 'DELETE'])
  let target = r.pick(PATHS)
  let version = 'HTTP/1.1'
  /** @type {Buffer} */
  let body = Buffer.from(method === 'POST' ? r.pick(BODIES.slice(4, 6)) : '')
  const headers = ['Host: 127.0.0.1', 'Content-Type: application/json']
  let framing = r.chance(0.85) ? 'length' : 'chunked'

  const mutations = 1 + Math.floor(r.next() * r.next() * 3)
  for (let m = 0; m < mutations; m++) {
    const what = r.next()
    if (what < 0.1) {
      method = r.pick(METHODS)
    } else if (what < 0.45) {
      for (let i = 0, n = 1 + Math.floor(r.next() * 3); i < n; i++) {
        const noise = r.pick(PATH_NOISE)
        target = r.chance(0.5) ? `${target}/${noise}` : `${target}${noise}`
      }
      if (r.chance(0.05)) target = r.pick(['*', 'http://127.0.0.1/api/../openapi/v1.json', 'api/info', `/${'a/'.repeat(4000)}`])
    } else if (what < 0.5) {
      version = r.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'HTTP/1.1x', ''])
    } else if (what < 0.75) {
      for (let i = 0, n = 1 + Math.floor(r.next() * 3); i < n; i++) headers.push(r.pick(HEADER_NOISE))
      if (r.chance(0.2)) headers.shift()
    } else if (what < 0.95) {
      body = r.chance(0.5) ? r.bytes(Math.floor(r.next() * 4096)) : Buffer.from(r.pick(BODIES))
    } else {
      framing = r.pick(['lying length', 'bad chunks', 'none'])
    }
  }

  if (headers.some((h) => /^(Content-Length|Transfer-Encoding):/.test(h))) framing = 'none'
  if (framing === 'length') headers.push(`Content-Length: ${body.length}`)
  if (framing === 'lying length') headers.push(`Content-Length: ${Math.floor(r.next() * 4096)}`)
  if (framing === 'chunked' || framing === 'bad chunks') {
    headers.push('Transfer-Encoding: chunked')
    const size = framing === 'chunked' ? body.length.toString(16) : r.pick(['zz', '-1', 'fffffffffffffffff', '1;ext=x', ''])
    body = Buffer.concat([Buffer.from(`${size}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
  }
  if (r.chance(0.8)) headers.push('Connection: close')
  const head = `${method} ${target} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}

/**
 * Sends raw bytes, returns every status line in what comes back (a pipelined or keep-alive
 * answer may hold more than one). A request still unanswered after a second gets a half-close
 * (a body that never comes still gets a decision); an answer is over after half a second of
 * silence; nothing takes longer than PER_REQUEST_MS.
 * @param {number} port
 * @param {Buffer} request
 * @returns {Promise<number[]>}
 */
function send(port, request) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    /** @type {Buffer[]} */
    const received = []
    /** @type {NodeJS.Timeout | undefined} */
    let idle
    const finish = () => {
      clearTimeout(deadline)
      clearTimeout(halfClose)
      clearTimeout(idle)
      socket.destroy()
      const text = Buffer.concat(received).toString('latin1')
      resolve([...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1])))
    }
    const deadline = setTimeout(finish, PER_REQUEST_MS)
    const halfClose = setTimeout(() => socket.end(), 1000)
    socket.on('data', (chunk) => {
      received.push(chunk)
      clearTimeout(halfClose)
      clearTimeout(idle)
      idle = setTimeout(finish, 500)
    })
    socket.on('end', finish)
    socket.on('error', finish)
    socket.on('close', finish)
    socket.on('connect', () => socket.write(request))
  })
}

/**
 * Sends `count` generated requests, CONCURRENCY at a time; returns how often each status came back.
 * @param {string} base
 * @param {number} count
 * @param {number} seed
 */
async function fuzz(base, count, seed) {
  const port = Number(new URL(base).port)
  const r = random(seed)
  // Some connections carry a second request right behind the first (pipelining).
  const requests = Array.from({ length: count }, () =>
    r.chance(0.08) ? Buffer.concat([generateRequest(r), generateRequest(r)]) : generateRequest(r),
  )
  /** @type {Map<number, number>} */
  const statuses = new Map()
  /** @type {{ request: string, status: number }[]} */
  const serverErrors = []
  let index = 0
  let unanswered = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (index < requests.length) {
        const request = /** @type {Buffer} */ (requests[index++])
        const answers = await send(port, request)
        if (answers.length === 0) unanswered++
        for (const status of answers) {
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
          if (status >= 500) serverErrors.push({ request: request.subarray(0, 300).toString('latin1'), status })
        }
      }
    }),
  )
  return { statuses, serverErrors, unanswered }
}

/**
 * Proves the server still works after the fuzzing: healthy, and a chat streams to its end.
 * @param {string} base
 */
async function expectStillServing(base) {
  expect((await fetch(`${base}/health`)).status).toBe(200)
  const chat = await fetch(`${base}/api/chat/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"messages":[{"role":"user","content":"Hello"}]}',
  })
  expect(chat.status).toBe(200)
  expect(await chat.text()).toContain('event: finish')
}

/** @type {Awaited<ReturnType<typeof startStandInApi>>} */
let api
/** @type {Awaited<ReturnType<typeof makeDist>>} */
let dist

beforeAll(async () => {
  // As the API does, it refuses a chat without messages.
  api = await startStandInApi({ validateChat: true })
  dist = await makeDist()
})
afterAll(async () => {
  await api.close()
  await dist.remove()
})

describe.each([
  { mode: 'production', count: 1000 },
  { mode: 'development', count: 400 },
])('fuzzing the $mode server', ({ mode, count }) => {
  it(`answers ${count} malformed requests without a 5xx, and keeps serving`, { timeout: 180_000 }, async () => {
    const run =
      mode === 'production'
        ? startInProcessHost(api.url, dist.distDir)
        : startProcess({ services__api__http__0: api.url })
    try {
      const base = await run.listening()
      const started = performance.now()
      const { statuses, serverErrors, unanswered } = await fuzz(base, count, SEED + (mode === 'production' ? 0 : 1))
      const seconds = (performance.now() - started) / 1000
      const summary = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ')
      process.stdout.write(`fuzz ${mode} (seed ${SEED}): ${count} requests in ${seconds.toFixed(1)} s: ${summary}, ${unanswered} closed unanswered\n`)

      expect(serverErrors).toEqual([])
      expect(run.child.exitCode).toBeNull()
      await expectStillServing(base)
      expect(run.output()).not.toMatch(/"level":(50|60)|Uncaught|ERR_/)
    } finally {
      run.child.kill('SIGTERM')
      await run.exited
    }
  })
})

/**
 * The production server (createServer, as main() builds it) in a process of its own, so that a
 * crash is a dead process, not a failed test worker.
 * @param {string} apiUrl
 * @param {string} distDir
 */
function startInProcessHost(apiUrl, distDir) {
  const script = `
    const { createServer, createLogger } = await import('./server/index.mjs')
    const web = await createServer({ mode: 'production', apiUrl: ${JSON.stringify(apiUrl)}, distDir: ${JSON.stringify(distDir)}, logger: createLogger({ LOG_LEVEL: 'warn' }) })
    const url = await web.listen(0, '127.0.0.1')
    console.log(JSON.stringify({ msg: 'web server listening', url }))
    process.once('SIGTERM', () => web.close().then(() => process.exit(0)))
  `
  return spawnServer(['--input-type=module', '-e', script])
}
