// The web server as the app's public edge: paths, forwarded headers, client identity and
// security headers, against a real stand-in API on 127.0.0.1.
import http from 'node:http'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createServer } from '../index.mjs'
import { isCanonicalPath, PERMISSIONS_POLICY, resolveClientTrust } from '../security.mjs'
import { makeDist, rawRequest, startStandInApi } from './support.mjs'

const silent = pino({ level: 'silent' })

/** @type {Awaited<ReturnType<typeof startStandInApi>>} */
let api
/** @type {Awaited<ReturnType<typeof makeDist>>} */
let dist

beforeAll(async () => {
  // Records what reaches the API; answers every path with 200, as the API's own endpoints would.
  api = await startStandInApi({ routes: { '*': (req, res, { json }) => json(200, { openapi: '3.1.1' }) } })
  dist = await makeDist()
})
afterAll(async () => {
  await api.close()
  await dist.remove()
})
afterEach(() => {
  api.requests.length = 0
})

/**
 * @param {import('../security.mjs').ClientTrust} [clientTrust]
 */
async function startWeb(clientTrust) {
  const web = await createServer({ mode: 'production', apiUrl: api.url, distDir: dist.distDir, logger: silent, clientTrust })
  const base = await web.listen(0, '127.0.0.1')
  return { web, base }
}

/** Every way we know of to write a path that a server further on resolves outside /api/. */
const ESCAPES = [
  '/api/../openapi/v1.json',
  '/api/%2e%2e/openapi/v1.json',
  '/api/%2E%2E/openapi/v1.json',
  '/api/.%2e/health',
  '/api/%2e./alive',
  '/api/%252e%252e/scalar',
  '/api/chat/../../health',
  '/api/./../alive',
  '/api/..%2fopenapi/v1.json',
  '/api/..%2Fopenapi/v1.json',
  '/api/%2e%2e%2fopenapi/v1.json',
  '/api/..%5copenapi/v1.json',
  '/api\\..\\openapi/v1.json',
  '/api/..\\openapi/v1.json',
  '/api//../openapi/v1.json',
  '//api/../openapi/v1.json',
  '/api/..;/openapi/v1.json',
  '/api/%c0%ae%c0%ae/openapi/v1.json',
  '/api/%2e%2e%00/health',
  '/api/..',
  '/api/.',
  '/api/%2e',
  'http://127.0.0.1/api/../openapi/v1.json',
]

describe('request paths', () => {
  /** @type {Awaited<ReturnType<typeof startWeb>>} */
  let server
  beforeAll(async () => (server = await startWeb()))
  afterAll(() => server.web.close())

  it.each(ESCAPES)('does not proxy %s, answers 400', async (target) => {
    const response = await rawRequest(server.base, 'GET', target)

    expect(response.status).toBe(400)
    expect(response.headers['content-type']).toBe('application/problem+json')
    expect(api.requests).toEqual([])
  })

  it('still proxies ordinary API paths, queries included', async () => {
    const paths = ['/api/info', '/api/chat/stream/5b0c3f2a?lastEventId=3', '/api/chat/stream/5b0c3f2a/stop', '/api/a..b/c.d']
    for (const target of paths) {
      expect((await rawRequest(server.base, 'GET', target)).status, target).toBe(200)
    }
    expect(api.requests.map((r) => r.url)).toEqual(paths)
  })

  it('treats a dot segment in the query as data', async () => {
    expect((await rawRequest(server.base, 'GET', '/api/info?next=/../x')).status).toBe(200)
    expect(api.requests.map((r) => r.url)).toEqual(['/api/info?next=/../x'])
  })

  it('knows canonical paths from the rest', () => {
    for (const target of ESCAPES) expect(isCanonicalPath(target), target).toBe(false)
    for (const target of ['/', '/api/info', '/assets/index-Bx9Xk2Qa.js', '/node_modules/.vite/deps/vue.js?v=1', '/100%25.png', '/%E2%9C%93']) {
      expect(isCanonicalPath(target), target).toBe(true)
    }
    expect(isCanonicalPath('*')).toBe(false)
    expect(isCanonicalPath('/api/%zz')).toBe(false)
    expect(isCanonicalPath('/a b')).toBe(false)
  })
})

describe('headers sent to the API', () => {
  const CLIENT_HEADERS = {
    'content-type': 'application/json',
    accept: 'text/event-stream',
    'last-event-id': '7',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    tracestate: 'congo=t61rcWkgMzE',
    baggage: 'userId=alice',
    cookie: 'session=s3cret',
    authorization: 'Bearer s3cret',
    'api-key': 's3cret',
    'x-api-key': 's3cret',
    'user-agent': 'curl/8',
    'x-forwarded-for': '203.0.113.66',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    forwarded: 'for=203.0.113.66',
    'x-real-ip': '203.0.113.66',
    'x-ms-client-principal-id': 'someone-else',
    'x-ms-client-principal-name': 'someone@example.com',
    'x-ms-client-principal': 'eyJ1c2VySWQiOiJzb21lb25lLWVsc2UifQ==',
    'x-ms-client-principal-idp': 'aad',
  }

  it('are the allowlist only, with a clean X-Forwarded-For of the real client', async () => {
    const { web, base } = await startWeb()
    try {
      const response = await rawRequest(base, 'POST', '/api/chat/stream', { headers: CLIENT_HEADERS, body: '{"messages":[]}' })
      expect(response.status).toBe(200)

      const sent = api.requests[0]?.headers ?? {}
      expect(Object.keys(sent).sort()).toEqual(
        [
          'accept',
          'baggage',
          'content-length',
          'content-type',
          'host',
          'last-event-id',
          'traceparent',
          'tracestate',
          'x-forwarded-for',
          'x-forwarded-proto',
        ].sort(),
      )
      expect(sent).toMatchObject({
        'content-type': 'application/json',
        'content-length': '15',
        accept: 'text/event-stream',
        'last-event-id': '7',
        traceparent: CLIENT_HEADERS.traceparent,
        tracestate: CLIENT_HEADERS.tracestate,
        baggage: CLIENT_HEADERS.baggage,
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'http',
        host: new URL(api.url).host,
      })
    } finally {
      await web.close()
    }
  })

  it('keep a chunked body framed', async () => {
    const { web, base } = await startWeb()
    try {
      const { hostname, port } = new URL(base)
      await new Promise((resolve, reject) => {
        const req = http.request({ host: hostname, port, method: 'POST', path: '/api/chat/stream', agent: false }, (res) => {
          res.resume()
          res.on('end', resolve)
        })
        req.on('error', reject)
        req.write('{"messages":')
        req.end('[]}')
      })
      expect(api.requests[0]?.headers['transfer-encoding']).toBe('chunked')
      expect(api.requests).toHaveLength(1)
    } finally {
      await web.close()
    }
  })

  it('take the client address from X-Forwarded-For only behind a trusted proxy', async () => {
    // As Azure Container Apps' ingress does: it appends the address it saw to whatever came in.
    const forwarded = { 'x-forwarded-for': '198.51.100.1, 203.0.113.7', 'x-forwarded-proto': 'https' }
    const oneHop = await startWeb({ trustProxy: 1, trustContainerAppsAuth: false })
    const loopback = await startWeb({ trustProxy: ['loopback'], trustContainerAppsAuth: false })
    const elsewhere = await startWeb({ trustProxy: ['10.0.0.0/8'], trustContainerAppsAuth: false })
    try {
      await rawRequest(oneHop.base, 'GET', '/api/info', { headers: forwarded })
      await rawRequest(loopback.base, 'GET', '/api/info', { headers: forwarded })
      await rawRequest(elsewhere.base, 'GET', '/api/info', { headers: forwarded })

      expect(api.requests.map((r) => [r.headers['x-forwarded-for'], r.headers['x-forwarded-proto']])).toEqual([
        ['203.0.113.7', 'https'],
        ['203.0.113.7', 'https'],
        ['127.0.0.1', 'http'],
      ])

      api.requests.length = 0
      await rawRequest(oneHop.base, 'GET', '/api/info', {
        headers: { 'x-forwarded-for': '198.51.100.1, not-an-address', 'x-forwarded-proto': 'gopher' },
      })
      expect(api.requests[0]?.headers['x-forwarded-for']).toBe('127.0.0.1')
      expect(api.requests[0]?.headers['x-forwarded-proto']).toBe('http')
    } finally {
      await Promise.all([oneHop.web.close(), loopback.web.close(), elsewhere.web.close()])
    }
  })

  it('carry the Container Apps principal only when told to trust it', async () => {
    const trusted = await startWeb({ trustProxy: 1, trustContainerAppsAuth: true })
    const untrusted = await startWeb({ trustProxy: 1, trustContainerAppsAuth: false })
    try {
      await rawRequest(trusted.base, 'GET', '/api/info', { headers: CLIENT_HEADERS })
      await rawRequest(untrusted.base, 'GET', '/api/info', { headers: CLIENT_HEADERS })

      const [fromTrusted, fromUntrusted] = api.requests.map((r) => r.headers)
      expect(fromTrusted).toMatchObject({
        'x-ms-client-principal-id': 'someone-else',
        'x-ms-client-principal-name': 'someone@example.com',
        'x-ms-client-principal': CLIENT_HEADERS['x-ms-client-principal'],
        'x-ms-client-principal-idp': 'aad',
      })
      expect(Object.keys(fromUntrusted ?? {}).filter((name) => name.startsWith('x-ms-'))).toEqual([])
      expect(fromTrusted?.cookie).toBeUndefined()
      expect(fromTrusted?.authorization).toBeUndefined()
    } finally {
      await Promise.all([trusted.web.close(), untrusted.web.close()])
    }
  })

  it('trust configuration is read from TRUSTED_PROXIES and TRUST_CONTAINER_APPS_AUTH', () => {
    expect(resolveClientTrust({})).toEqual({ trustProxy: false, trustContainerAppsAuth: false })
    expect(resolveClientTrust({ TRUSTED_PROXIES: '0' }).trustProxy).toBe(false)
    expect(resolveClientTrust({ TRUSTED_PROXIES: '1' }).trustProxy).toBe(1)
    expect(resolveClientTrust({ TRUSTED_PROXIES: ' 10.0.0.0/8, loopback ' }).trustProxy).toEqual(['10.0.0.0/8', 'loopback'])
    expect(() => resolveClientTrust({ TRUSTED_PROXIES: '10.0.0.0/8, ingress' })).toThrow(/TRUSTED_PROXIES .*ingress/)
    expect(resolveClientTrust({ TRUST_CONTAINER_APPS_AUTH: 'true' }).trustContainerAppsAuth).toBe(true)
    expect(resolveClientTrust({ TRUST_CONTAINER_APPS_AUTH: 'false' }).trustContainerAppsAuth).toBe(false)
    expect(() => resolveClientTrust({ TRUST_CONTAINER_APPS_AUTH: 'yes' })).toThrow(/TRUST_CONTAINER_APPS_AUTH/)
  })
})

describe('security headers in production', () => {
  /** @type {Awaited<ReturnType<typeof startWeb>>} */
  let server
  beforeAll(async () => (server = await startWeb()))
  afterAll(() => server.web.close())

  it.each(['/', '/chats/42', '/assets/index-Bx9Xk2Qa.js', '/favicon.ico', '/health', '/api/info'])(
    'are on %s',
    async (target) => {
      const response = await rawRequest(server.base, 'GET', target, { headers: { accept: 'text/html' } })
      const csp = String(response.headers['content-security-policy'])

      expect(csp.split(';')).toEqual(
        expect.arrayContaining(["default-src 'self'", "script-src 'self'", "script-src-attr 'none'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"]),
      )
      expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/)
      expect(response.headers['x-content-type-options']).toBe('nosniff')
      expect(response.headers['referrer-policy']).toBe('no-referrer')
      expect(response.headers['permissions-policy']).toBe(PERMISSIONS_POLICY)
      expect(response.headers['permissions-policy']).toContain('camera=()')
      expect(response.headers['x-frame-options']).toBe('DENY')
      expect(response.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
      expect(response.headers['x-powered-by']).toBeUndefined()
    },
  )

  it('are on a 404 too, whose policy allows nothing at all', async () => {
    const response = await rawRequest(server.base, 'GET', '/assets/missing-1234.js')

    expect(response.status).toBe(404)
    expect(response.headers['content-security-policy']).toBe("default-src 'none'")
    expect(response.headers['x-content-type-options']).toBe('nosniff')
    expect(response.headers['permissions-policy']).toBe(PERMISSIONS_POLICY)
    expect(response.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
  })
})

describe('slow clients', () => {
  it('answers headers that trickle in past the headers timeout with 408, as the API does', async () => {
    const web = await createServer({ mode: 'production', apiUrl: api.url, distDir: dist.distDir, logger: silent, headersTimeoutMs: 1000 })
    const base = new URL(await web.listen(0, '127.0.0.1'))
    const net = await import('node:net')
    try {
      const started = Date.now()
      const answer = await new Promise((resolve, reject) => {
        const socket = net.connect(Number(base.port), '127.0.0.1')
        let received = ''
        socket.on('data', (chunk) => (received += chunk.toString('latin1')))
        socket.on('close', () => resolve(received))
        socket.on('error', reject)
        socket.write('POST /api/chat/stream HTTP/1.1\r\nHost: x\r\n')
        // One header line every 300 ms, never the blank line that ends them.
        let line = 0
        const trickle = setInterval(() => {
          if (socket.destroyed || line > 40) return clearInterval(trickle)
          socket.write(`X-Slow-${line++}: 1\r\n`)
        }, 300)
      })
      expect(String(answer)).toMatch(/^HTTP\/1\.1 408/)
      expect(Date.now() - started).toBeLessThan(8000)
      expect(api.requests).toHaveLength(0)
    } finally {
      await web.close()
    }
  })
})
