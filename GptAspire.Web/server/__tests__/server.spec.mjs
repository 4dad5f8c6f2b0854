// The real server module against a fake upstream API, both on 127.0.0.1 port 0.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createServer, resolveApiUrl, resolveMode } from '../index.mjs'
import { capturingLogger, listenOnLoopback, makeDist, rawRequest, sleep, startProcess, startStandInApi } from './support.mjs'

const silent = pino({ level: 'silent' })
/** Whether this machine has an IPv6 loopback address: the cases on ::1 are skipped without it. */
const hasIpv6Loopback = Object.values(os.networkInterfaces()).flat().some((i) => i?.address === '::1')
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

/**
 * Reads an event stream, noting when each event arrived.
 * @param {Response} response
 * @param {{ stopAfter?: number }} [options]
 */
async function readEvents(response, options = {}) {
  /** @type {{ text: string, at: number }[]} */
  const events = []
  const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      events.push({ text: buffer.slice(0, end), at: Date.now() })
      buffer = buffer.slice(end + 2)
    }
    if (options.stopAfter && events.length >= options.stopAfter) {
      await reader.cancel()
      break
    }
  }
  return events
}

/** @type {Awaited<ReturnType<typeof startStandInApi>>} */
let upstream
/** @type {Awaited<ReturnType<typeof makeDist>>} */
let dist
/** @type {string} */
let distDir

beforeAll(async () => {
  // Streams with real delays: a token 300 ms after the start, the finish 300 ms after that.
  upstream = await startStandInApi({ eventDelayMs: 300 })
  dist = await makeDist()
  distDir = dist.distDir
})
afterAll(async () => {
  await upstream.close()
  await dist.remove()
})
afterEach(() => {
  upstream.requests.length = 0
})

describe('production server', () => {
  /** @type {import('../index.mjs').WebServer} */
  let web
  /** @type {string} */
  let base

  beforeAll(async () => {
    web = await createServer({ mode: 'production', apiUrl: upstream.url, distDir, logger: silent })
    base = await web.listen(0, '127.0.0.1')
  })
  afterAll(() => web.close())

  it('answers GET /health with Healthy', async () => {
    const response = await fetch(`${base}/health`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'Healthy' })
  })

  it('streams events through as they come, not all at the end', async () => {
    const response = await fetch(`${base}/api/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: '{"messages":[]}',
    })
    const events = await readEvents(response)

    expect(events.map((e) => e.text.split('\n')[1])).toEqual(['event: start', 'event: token', 'event: finish'])
    expect(events[1].at - events[0].at).toBeGreaterThanOrEqual(200)
    expect(events[2].at - events[0].at).toBeGreaterThanOrEqual(450)
  })

  it('does not compress or buffer the event stream', async () => {
    const response = await fetch(`${base}/api/chat/stream`, {
      method: 'POST',
      headers: { 'accept-encoding': 'gzip, deflate, br', accept: 'text/event-stream' },
      body: '{}',
    })
    await readEvents(response)

    expect(response.headers.get('content-type')).toBe('text/event-stream')
    expect(response.headers.get('content-encoding')).toBeNull()
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform')
  })

  it('forwards traceparent to the API', async () => {
    const response = await fetch(`${base}/api/chat/stream`, { method: 'POST', headers: { traceparent: TRACEPARENT }, body: '{}' })
    await readEvents(response)

    expect(upstream.requests[0]?.headers.traceparent).toBe(TRACEPARENT)
  })

  it('closes the upstream request at once when the browser aborts', async () => {
    const controller = new AbortController()
    const response = await fetch(`${base}/api/hang`, { method: 'POST', body: '{}', signal: controller.signal })
    const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader()
    await reader.read()
    const abortedAt = Date.now()
    controller.abort()

    // /api/hang never ends on its own: its request closes only because the browser left. The bound only keeps
    // a slow close from passing; how fast it is belongs to the bench.
    const closedAt = await upstream.requests[0]?.closed
    expect(/** @type {number} */ (closedAt) - abortedAt).toBeLessThan(5000)
    expect(upstream.requests[0]?.aborted).toBe(true)
  })

  it('resumes a stream after Last-Event-ID: the API gets the header, the browser gets the rest as it comes, ids kept', async () => {
    const response = await fetch(`${base}/api/chat/stream/r1`, {
      headers: { accept: 'text/event-stream', 'last-event-id': '2' },
    })
    const events = await readEvents(response)

    expect(upstream.requests[0]?.headers['last-event-id']).toBe('2')
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    expect(events.map((e) => e.text)).toEqual([
      'id: 3\nevent: token\ndata: {"text":"!"}',
      'id: 4\nevent: usage\ndata: {"promptTokens":8,"completionTokens":3,"totalTokens":11,"remainingTokens":100}',
      'id: 5\nevent: finish\ndata: {"reason":"stop"}',
    ])
    expect(events[2].at - events[0].at).toBeGreaterThanOrEqual(300)
  })

  it('resumes with ?lastEventId= too, and from the start without one', async () => {
    const fromQuery = await readEvents(await fetch(`${base}/api/chat/stream/r1?lastEventId=4`))
    const fromStart = await readEvents(await fetch(`${base}/api/chat/stream/r1`))

    expect(upstream.requests[0]?.url).toBe('/api/chat/stream/r1?lastEventId=4')
    expect(fromQuery.map((e) => e.text.split('\n')[0])).toEqual(['id: 5'])
    expect(fromStart.map((e) => e.text.split('\n')[0])).toEqual(['id: 0', 'id: 1', 'id: 2', 'id: 3', 'id: 4', 'id: 5'])
  })

  it('passes a stream id the API does not know as its 404 ProblemDetails', async () => {
    const response = await fetch(`${base}/api/chat/stream/gone`, { headers: { 'last-event-id': '3' } })

    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ status: 404 })
  })

  it('passes Stop through: 202 accepted, 200 already ended, 404 unknown', async () => {
    const stop = (/** @type {string} */ id) => fetch(`${base}/api/chat/stream/${id}/stop`, { method: 'POST' })

    expect((await stop('r1')).status).toBe(202)
    expect((await stop('ended')).status).toBe(200)
    const unknown = await stop('nope')
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('content-type')).toBe('application/problem+json')
    expect(upstream.requests.map((r) => r.url)).toEqual([
      '/api/chat/stream/r1/stop',
      '/api/chat/stream/ended/stop',
      '/api/chat/stream/nope/stop',
    ])
  })

  it('passes 503 and 429 through with their Retry-After', async () => {
    for (const [full, status] of [['api', 503], ['client', 429]]) {
      const response = await fetch(`${base}/api/chat/stream?full=${full}`, { method: 'POST', body: '{}' })

      expect(response.status).toBe(status)
      expect(response.headers.get('retry-after')).toBe('7')
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(await response.json()).toMatchObject({ status })
    }
  })

  it('passes ProblemDetails through untouched', async () => {
    const response = await fetch(`${base}/api/problem`, { method: 'POST', body: '{}' })

    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ errors: { maxTokens: ['Too many.'] } })
  })

  it('reuses its connection to the API from one request to the next', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${base}/api/problem`)
      expect(response.status).toBe(400)
      await response.text()
    }
    expect(upstream.requests).toHaveLength(3)
    expect(new Set(upstream.requests.map((r) => r.port)).size).toBe(1)
  })

  it('proxies unknown /api paths instead of serving the app', async () => {
    const response = await fetch(`${base}/api/nothing-here`, { headers: { accept: 'text/html' } })

    expect(response.status).toBe(404)
    expect(await response.text()).toBe('{"status":404}')
  })

  it('proxies only the /api/ folder, not paths that merely start with /api', async () => {
    const response = await fetch(`${base}/apifoo`, { headers: { accept: 'text/html' } })

    expect(response.status).toBe(200)
    expect(await response.text()).toContain('<div id="app">')
  })

  it('serves index.html uncached, with a Content-Security-Policy', async () => {
    const response = await fetch(`${base}/`, { headers: { accept: 'text/html' } })

    expect(response.status).toBe(200)
    expect(await response.text()).toContain('<div id="app">')
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'")
  })

  it('falls back to index.html for client-side routes', async () => {
    const response = await fetch(`${base}/chats/42`, { headers: { accept: 'text/html,*/*' } })

    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('cache-control')).toBe('no-cache')
  })

  it('caches hashed assets for a year, and revalidates other files', async () => {
    const asset = await fetch(`${base}/assets/index-Bx9Xk2Qa.js`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')

    const icon = await fetch(`${base}/favicon.ico`)
    expect(icon.status).toBe(200)
    expect(icon.headers.get('cache-control')).toBe('no-cache')
  })

  it('answers 404 for a missing file instead of the app', async () => {
    expect((await fetch(`${base}/assets/index-Old123.js`)).status).toBe(404)
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(404)
  })
})

/**
 * Reads events until the stream ends or fails.
 * @param {Response} response
 * @param {(count: number) => void} [onEvent] called with the number of events read so far
 * @returns {Promise<{ events: string[], failure?: unknown }>}
 */
async function readUntilEnd(response, onEvent) {
  /** @type {string[]} */
  const events = []
  const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return { events }
      buffer += decoder.decode(value, { stream: true })
      let end
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        events.push(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        onEvent?.(events.length)
      }
    }
  } catch (failure) {
    return { events, failure }
  }
}

/** The API as a process of its own: starts a stream, then waits (to be killed). */
const DYING_API = `
  const http = require('node:http')
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('id: 0\\nevent: start\\ndata: {"requestId":"r"}\\n\\n')
    setTimeout(() => res.write('id: 1\\nevent: token\\ndata: {"text":"Hi"}\\n\\n'), 100)
  })
  server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

describe('the API going away mid-stream', () => {
  it('when its process is killed, the browser\'s stream is cut at once, with a warning logged', { timeout: 20_000 }, async () => {
    const api = spawn(process.execPath, ['-e', DYING_API], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => api.on('exit', resolve))
    try {
      const port = await new Promise((resolve) => api.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))))
      const { logger, records } = capturingLogger()
      const web = await createServer({ mode: 'production', apiUrl: `http://127.0.0.1:${port}`, distDir, logger })
      const base = await web.listen(0, '127.0.0.1')
      try {
        const response = await fetch(`${base}/api/chat/stream`, { method: 'POST', body: '{}' })
        /** @type {() => void} */
        let twoEventsRead = () => {}
        const reachedToken = new Promise((resolve) => (twoEventsRead = () => resolve(undefined)))
        const reading = readUntilEnd(response, (count) => count === 2 && twoEventsRead())
        await reachedToken
        const killedAt = performance.now()
        api.kill('SIGKILL')
        await exited

        // Without the cut, this read never ends: the browser keeps an open stream with no terminal event.
        const { events, failure } = await reading
        process.stdout.write(`the browser's stream failed ${Math.round(performance.now() - killedAt)} ms after the API was killed\n`)
        expect(events.map((e) => e.split('\n')[1])).toEqual(['event: start', 'event: token'])
        expect(failure).toBeInstanceOf(TypeError)
        const warning = records.find((r) => r.level === 40 && /api closed the response/.test(r.msg))
        expect(warning).toMatchObject({ path: '/api/chat/stream', status: 200 })
      } finally {
        await web.close()
      }
    } finally {
      api.kill('SIGKILL')
    }
  })

  it('when it closes the connection mid-stream, the browser\'s stream is cut too', { timeout: 20_000 }, async () => {
    const { logger, records } = capturingLogger()
    const web = await createServer({ mode: 'production', apiUrl: upstream.url, distDir, logger, shutdownGraceMs: 100 })
    const base = await web.listen(0, '127.0.0.1')
    try {
      const { events, failure } = await readUntilEnd(await fetch(`${base}/api/cut`, { method: 'POST', body: '{}' }))

      expect(events).toHaveLength(1)
      expect(failure).toBeInstanceOf(TypeError)
      expect(records.filter((r) => r.level === 40).map((r) => r.msg)).toEqual([
        'api closed the response before its end; closing the client response',
      ])
    } finally {
      await web.close()
    }
  })

  it('does not warn when the browser itself stops reading', async () => {
    const { logger, records } = capturingLogger()
    const web = await createServer({ mode: 'production', apiUrl: upstream.url, distDir, logger, shutdownGraceMs: 100 })
    const base = await web.listen(0, '127.0.0.1')
    try {
      const controller = new AbortController()
      const response = await fetch(`${base}/api/hang`, { method: 'POST', body: '{}', signal: controller.signal })
      await /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader().read()
      controller.abort()
      await upstream.requests[0]?.closed
      await sleep(100)

      expect(records.filter((r) => r.level >= 40)).toEqual([])
    } finally {
      await web.close()
    }
  })
})

describe('server setup', () => {
  it('answers 502 ProblemDetails when the API is down', async () => {
    const web = await createServer({ mode: 'production', apiUrl: 'http://127.0.0.1:1', distDir, logger: silent })
    const base = await web.listen(0, '127.0.0.1')
    try {
      const response = await fetch(`${base}/api/chat/stream`, { method: 'POST', body: '{}' })
      expect(response.status).toBe(502)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(await response.json()).toMatchObject({ status: 502, title: 'The API is not reachable.' })
    } finally {
      await web.close()
    }
  })

  it('answers 504 ProblemDetails when the API takes the request but never answers', async () => {
    // Accepts and reads, never responds: a frozen API, or a proxy holding the connection with no API behind it.
    const frozen = await listenOnLoopback(net.createServer((socket) => socket.resume()))
    const web = await createServer({ mode: 'production', apiUrl: frozen.url, distDir, logger: silent, apiResponseTimeoutMs: 300 })
    const base = await web.listen(0, '127.0.0.1')
    try {
      const started = Date.now()
      const response = await fetch(`${base}/api/chat/stream`, { method: 'POST', body: '{}' })
      expect(response.status).toBe(504)
      expect(await response.json()).toMatchObject({ status: 504, title: 'The API is not reachable.' })
      // The 300 ms bound, not the default 10 s one.
      expect(Date.now() - started).toBeLessThan(8000)
    } finally {
      await web.close()
      await frozen.close()
    }
  })

  it('lets a stream whose first token takes longer than that time run to its end', async () => {
    // The fake API sends the stream's headers at once, then a token after 300 ms and the finish after 600.
    const web = await createServer({ mode: 'production', apiUrl: upstream.url, distDir, logger: silent, apiResponseTimeoutMs: 100 })
    const base = await web.listen(0, '127.0.0.1')
    try {
      const response = await fetch(`${base}/api/chat/stream`, { method: 'POST', body: '{}' })
      const events = await readEvents(response)
      expect(events.map((e) => e.text.split('\n')[1])).toEqual(['event: start', 'event: token', 'event: finish'])
    } finally {
      await web.close()
    }
  })

  /** @param {string} host */
  const endsAStreamOnCloseAfterTheGracePeriod = async (host) => {
    const web = await createServer({ mode: 'production', apiUrl: upstream.url, distDir, logger: silent, shutdownGraceMs: 300 })
    const port = new URL(await web.listen(0, 'localhost')).port
    const response = await fetch(`http://${host}:${port}/api/hang`, { method: 'POST', body: '{}' })
    const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader()
    await reader.read()

    await web.close()

    await expect(reader.read()).rejects.toThrow()
  }

  it('on close, ends a stream open on 127.0.0.1 (localhost) after the grace period', () =>
    endsAStreamOnCloseAfterTheGracePeriod('127.0.0.1'))

  // localhost's other address: [::1] where the machine has IPv6 loopback (CI does), else the name itself, which then
  // resolves to IPv4 (the test's name says which ran). Never skipped.
  const otherLoopback = hasIpv6Loopback ? '[::1]' : 'localhost'
  it(`on close, ends a stream open on ${otherLoopback} (localhost's other address) after the grace period`, () =>
    endsAStreamOnCloseAfterTheGracePeriod(otherLoopback))

  it('refuses to start in production without a build', async () => {
    await expect(
      createServer({ mode: 'production', apiUrl: upstream.url, distDir: path.join(distDir, 'nope'), logger: silent }),
    ).rejects.toThrow(/npm run build/)
  })

  it('in development, holds a readiness check while Vite starts and answers it Healthy the moment Vite is up', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'web-slow-vite-'))
    await fs.writeFile(path.join(root, 'vite.config.mjs'), 'await new Promise((r) => setTimeout(r, 500))\nexport default {}\n')
    const web = await createServer({ mode: 'development', root, apiUrl: upstream.url, logger: silent })
    try {
      const base = await web.listen(0, '127.0.0.1')
      let up = false
      void web.ready.then(() => (up = true))
      const health = await fetch(`${base}/health`)
      expect(up).toBe(true)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: 'Healthy' })
    } finally {
      await web.close()
      await fs.rm(root, { recursive: true, force: true })
    }
  })

  it('in development, is not healthy until Vite is up, and never when Vite cannot start; page requests then get a plain 503', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'web-broken-vite-'))
    // Vite loads this config a moment after the server listens, and fails on it.
    await fs.writeFile(path.join(root, 'vite.config.mjs'), "await new Promise((r) => setTimeout(r, 300))\nthrow new Error('a broken vite config')\n")
    const web = await createServer({ mode: 'development', root, apiUrl: upstream.url, logger: silent })
    try {
      const base = await web.listen(0, '127.0.0.1')
      // Asked while Vite starts, the check is held until Vite is up or has failed: never 200 here.
      const failed = await fetch(`${base}/health`)
      expect(failed.status).toBe(503)
      expect(await failed.json()).toEqual({ status: 'Unhealthy' })
      await expect(web.ready).rejects.toThrow(/a broken vite config/)
      expect((await fetch(`${base}/health`)).status).toBe(503)
      // Not a request that waits forever, nor a stack trace: the process itself exits on it (main).
      const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } })
      expect(page.status).toBe(503)
      const text = await page.text()
      expect(text).toMatch(/Vite\) failed to start/)
      expect(text).not.toMatch(/node_modules|at .*\.m?js/)
    } finally {
      await web.close()
      await fs.rm(root, { recursive: true, force: true })
    }
  })

  it('reads the API address from Aspire service discovery, https first, API_URL overriding', () => {
    expect(resolveApiUrl({ services__api__http__0: 'http://localhost:5000' })).toBe('http://localhost:5000/')
    expect(
      resolveApiUrl({ services__api__http__0: 'http://localhost:5000', services__api__https__0: 'https://localhost:5001' }),
    ).toBe('https://localhost:5001/')
    expect(resolveApiUrl({ services__api__https__0: 'https://localhost:5001', API_URL: 'http://api:8080' })).toBe(
      'http://api:8080/',
    )
    expect(() => resolveApiUrl({})).toThrow(/services__api__https__0 or services__api__http__0/)
  })

  it('takes the mode from --mode, else NODE_ENV', () => {
    expect(resolveMode(['--mode', 'production'], {})).toBe('production')
    expect(resolveMode(['--mode=production'], {})).toBe('production')
    expect(resolveMode([], { NODE_ENV: 'production' })).toBe('production')
    expect(resolveMode(['--mode', 'development'], { NODE_ENV: 'production' })).toBe('development')
    expect(resolveMode([], {})).toBe('development')
  })
})

describe('server process', () => {
  it('exits with a clear message when no API address is set', { timeout: 20_000 }, async () => {
    const run = startProcess({})
    expect(await run.exited).toBe(1)
    expect(run.output()).toContain('services__api__https__0 or services__api__http__0')
  })

  it('exits with a clear message when the client trust settings cannot be read', { timeout: 20_000 }, async () => {
    const proxies = startProcess({ services__api__http__0: upstream.url, TRUSTED_PROXIES: 'ingress' })
    const auth = startProcess({ services__api__http__0: upstream.url, TRUST_CONTAINER_APPS_AUTH: 'yes' })

    expect(await proxies.exited).toBe(1)
    expect(proxies.output()).toContain('TRUSTED_PROXIES has \\"ingress\\"')
    expect(await auth.exited).toBe(1)
    expect(auth.output()).toContain('TRUST_CONTAINER_APPS_AUTH must be true or false')
  })

  it('serves the app through Vite in development, proxies /api, and stops cleanly on SIGTERM', { timeout: 30_000 }, async () => {
    // A child process, as `npm run dev` runs it (Vite inside a vitest worker is not the real thing).
    const run = startProcess({ services__api__http__0: upstream.url })
    const base = await run.listening()

    expect((await fetch(`${base}/health`)).status).toBe(200)
    const html = await (await fetch(`${base}/`, { headers: { accept: 'text/html' } })).text()
    expect(html).toContain('/@vite/client')
    expect(html).toContain('/src/main.ts')
    const main = await fetch(`${base}/src/main.ts`)
    expect(main.status).toBe(200)
    expect(await main.text()).toContain('createApp')
    expect((await fetch(`${base}/api/problem`, { method: 'POST', body: '{}' })).status).toBe(400)

    const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } })
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self';")
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(page.headers.get('strict-transport-security')).toBeNull()
    const escape = await rawRequest(base, 'GET', '/api/../src/main.ts')
    expect(escape.status).toBe(400)

    const stoppedAt = Date.now()
    run.child.kill('SIGTERM')

    expect(await run.exited).toBe(0)
    expect(Date.now() - stoppedAt).toBeLessThan(5000)
  })

  it('listens on localhost only in development', { timeout: 30_000 }, async () => {
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((i) => i && !i.internal && i.family === 'IPv4')
      .map((i) => /** @type {os.NetworkInterfaceInfo} */ (i).address)
    /** @param {string} host @param {number} port @returns {Promise<boolean>} */
    const accepts = (host, port) =>
      new Promise((resolve) => {
        const socket = net.connect(port, host)
        socket.once('connect', () => (socket.destroy(), resolve(true)))
        socket.once('error', () => resolve(false))
      })

    const dev = startProcess({ services__api__http__0: upstream.url, HOST: '' })
    const devUrl = await dev.listening()
    const devPort = Number(new URL(devUrl).port)
    try {
      expect(devUrl).toBe(`http://localhost:${devPort}`)
      expect(await accepts('127.0.0.1', devPort)).toBe(true)
      // Clients that resolve localhost to ::1 reach the same server (when the machine has IPv6 loopback; without
      // it, the run says so).
      expect(await accepts('::1', devPort)).toBe(hasIpv6Loopback)
      if (hasIpv6Loopback) expect((await fetch(`http://[::1]:${devPort}/health`)).status).toBe(200)
      else console.warn('IPv6: no ::1 on this machine; the dev server was checked on 127.0.0.1 only')
      for (const address of others) expect(await accepts(address, devPort), address).toBe(false)
    } finally {
      dev.child.kill('SIGTERM')
      await dev.exited
    }
  })

  it('exports traces and logs over OTLP and sends the server span as traceparent upstream', { timeout: 40_000 }, async () => {
    /** @type {{ path: string, body: any }[]} */
    const received = []
    const collector = await listenOnLoopback(
      http.createServer((req, res) => {
        let body = ''
        req.on('data', (chunk) => (body += chunk))
        req.on('end', () => {
          received.push({ path: req.url ?? '', body: JSON.parse(body || '{}') })
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end('{}')
        })
      }),
    )

    try {
      const run = startProcess({
        services__api__http__0: upstream.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'web-under-test',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_BLRP_SCHEDULE_DELAY: '100',
      })
      const base = await run.listening()
      const response = await fetch(`${base}/api/chat/stream`, { method: 'POST', headers: { traceparent: TRACEPARENT }, body: '{}' })
      await readEvents(response)
      run.child.kill('SIGTERM')
      expect(await run.exited).toBe(0)

      // Same trace, new parent: the proxied call is a child of this server's own span.
      const sent = upstream.requests[0]?.headers.traceparent ?? ''
      expect(sent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/)
      expect(sent).not.toBe(TRACEPARENT)

      const spans = received
        .filter((r) => r.path === '/v1/traces')
        .flatMap((r) => r.body.resourceSpans ?? [])
        .flatMap((rs) => (rs.scopeSpans ?? []).flatMap((/** @type {any} */ ss) => ss.spans ?? []))
      expect(spans.some((/** @type {any} */ s) => s.traceId === '0af7651916cd43dd8448eb211c80319c' && s.kind === 2)).toBe(true)

      const logs = received.filter((r) => r.path === '/v1/logs')
      expect(JSON.stringify(logs)).toContain('web server listening')
      expect(JSON.stringify(received)).toContain('web-under-test')
    } finally {
      await collector.close()
    }
  })
})
