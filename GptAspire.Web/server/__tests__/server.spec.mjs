// The real server module against a fake upstream API, both on 127.0.0.1 port 0.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createServer, resolveApiUrl, resolveMode } from '../index.mjs'

const webRoot = fileURLToPath(new URL('../..', import.meta.url))
const silent = pino({ level: 'silent' })
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

/**
 * @typedef {object} UpstreamRequest
 * @property {string} url
 * @property {http.IncomingHttpHeaders} headers
 * @property {Promise<number>} closed Resolves with the time the connection closed.
 * @property {boolean} aborted The client went away before the response ended.
 */

/** A stand-in for the API: streams named events with real delays. */
async function startUpstream() {
  /** @type {UpstreamRequest[]} */
  const requests = []
  const server = http.createServer((req, res) => {
    /** @type {(value: number) => void} */
    let markClosed = () => {}
    /** @type {UpstreamRequest} */
    const record = {
      url: req.url ?? '',
      headers: req.headers,
      closed: new Promise((resolve) => (markClosed = resolve)),
      aborted: false,
    }
    res.on('close', () => {
      record.aborted = !res.writableFinished
      markClosed(Date.now())
    })
    requests.push(record)
    req.resume()

    const sse = () => {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      })
      res.flushHeaders()
    }
    /** @param {number} id @param {string} name @param {unknown} data */
    const event = (id, name, data) => res.write(`id: ${id}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`)

    if (req.url === '/api/chat/stream') {
      sse()
      void (async () => {
        event(0, 'start', { requestId: 'r' })
        await sleep(300)
        if (res.destroyed) return
        event(1, 'token', { text: 'Hi' })
        await sleep(300)
        if (res.destroyed) return
        event(2, 'finish', { reason: 'stop' })
        res.end()
      })()
    } else if (req.url === '/api/hang') {
      sse()
      event(0, 'start', { requestId: 'r' })
    } else if (req.url === '/api/problem') {
      res.writeHead(400, { 'content-type': 'application/problem+json' })
      res.end(JSON.stringify({ title: 'One or more validation errors occurred.', status: 400, errors: { maxTokens: ['Too many.'] } }))
    } else {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"status":404}')
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      }),
  }
}

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

/** @type {Awaited<ReturnType<typeof startUpstream>>} */
let upstream
/** @type {string} */
let distDir

beforeAll(async () => {
  upstream = await startUpstream()
  distDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gptaspire-web-dist-'))
  await fs.mkdir(path.join(distDir, 'assets'))
  await fs.writeFile(path.join(distDir, 'index.html'), '<!doctype html><title>app</title><div id="app"></div>')
  await fs.writeFile(path.join(distDir, 'assets', 'index-Bx9Xk2Qa.js'), 'console.log("app")')
  await fs.writeFile(path.join(distDir, 'favicon.ico'), 'icon')
})
afterAll(async () => {
  await upstream.close()
  await fs.rm(distDir, { recursive: true, force: true })
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

    const closedAt = await upstream.requests[0]?.closed
    expect(/** @type {number} */ (closedAt) - abortedAt).toBeLessThan(1000)
    expect(upstream.requests[0]?.aborted).toBe(true)
  })

  it('passes ProblemDetails through untouched', async () => {
    const response = await fetch(`${base}/api/problem`, { method: 'POST', body: '{}' })

    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ errors: { maxTokens: ['Too many.'] } })
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

  it('refuses to start in production without a build', async () => {
    await expect(
      createServer({ mode: 'production', apiUrl: upstream.url, distDir: path.join(distDir, 'nope'), logger: silent }),
    ).rejects.toThrow(/npm run build/)
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

/**
 * Runs `node --import ./server/instrumentation.mjs server/index.mjs` as npm run dev does.
 * @param {NodeJS.ProcessEnv} env
 */
function startProcess(env) {
  const child = spawn(process.execPath, ['--import', './server/instrumentation.mjs', 'server/index.mjs'], {
    cwd: webRoot,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  /** @returns {Promise<string>} the base URL, from the startup log line */
  const listening = async () => {
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      const line = output.split('\n').find((l) => l.includes('web server listening'))
      if (line) return JSON.parse(line).url
      if (child.exitCode !== null) break
      await sleep(50)
    }
    throw new Error(`The server did not start:\n${output}`)
  }
  return { child, exited, listening, output: () => output }
}

describe('server process', () => {
  it('exits with a clear message when no API address is set', { timeout: 20_000 }, async () => {
    const run = startProcess({})
    expect(await run.exited).toBe(1)
    expect(run.output()).toContain('services__api__https__0 or services__api__http__0')
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

    const stoppedAt = Date.now()
    run.child.kill('SIGTERM')

    expect(await run.exited).toBe(0)
    expect(Date.now() - stoppedAt).toBeLessThan(5000)
  })

  it('exports traces and logs over OTLP and sends the server span as traceparent upstream', { timeout: 40_000 }, async () => {
    /** @type {{ path: string, body: any }[]} */
    const received = []
    const collector = http.createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => (body += chunk))
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(body || '{}') })
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{}')
      })
    })
    await new Promise((resolve) => collector.listen(0, '127.0.0.1', () => resolve(undefined)))
    const { port } = /** @type {import('node:net').AddressInfo} */ (collector.address())

    try {
      const run = startProcess({
        services__api__http__0: upstream.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
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
      collector.closeAllConnections()
      await new Promise((resolve) => collector.close(() => resolve(undefined)))
    }
  })
})
