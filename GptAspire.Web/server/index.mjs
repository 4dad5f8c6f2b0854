// The web front end's one server, for both modes:
// - development: the app through Vite in middleware mode (hot reload on the same port);
// - production: the built `dist/` with cache headers and an SPA fallback.
// Both proxy /api to the API found through Aspire's service discovery variables, streaming
// Server-Sent Events through unbuffered and uncompressed, and answer GET /health. Being the
// app's public edge, both also apply security.mjs: security headers, canonical paths only, and
// only the headers the API needs, with a client address the client cannot choose.
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'
import process from 'node:process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import express from 'express'
import { createProxyMiddleware } from 'http-proxy-middleware'
import pino from 'pino'
import {
  rejectNonCanonicalPaths,
  resolveClientTrust,
  rewriteForwardedHeaders,
  securityHeaders,
} from './security.mjs'
import { shutdownTelemetry } from './telemetry.mjs'

/** @typedef {'development' | 'production'} Mode */

/**
 * @typedef {object} ServerOptions
 * @property {string} apiUrl Base URL of the API (`/api/...` is appended as is).
 * @property {Mode} [mode] Default: development.
 * @property {string} [root] The web project (where vite.config.ts and index.html are).
 * @property {string} [distDir] The built app served in production. Default: `<root>/dist`.
 * @property {import('pino').Logger} [logger]
 * @property {number} [shutdownGraceMs] How long open streams may finish on close. Default 2000.
 * @property {number} [headersTimeoutMs] How long a client may take to send its request headers (then 408).
 *   Default 10000, as the API's `Chat:RequestHeadersTimeout`; Node's own default is a minute.
 * @property {number} [apiResponseTimeoutMs] How long the API may take to start its response once it has the
 *   whole request (then 504). Default 10000: the API sends a stream's headers at once, before the first token.
 * @property {import('./security.mjs').ClientTrust} [clientTrust] Who may vouch for the client's
 *   address and identity. Default: nobody (see {@link resolveClientTrust}).
 */

/**
 * @typedef {object} WebServer
 * @property {import('express').Express} app
 * @property {http.Server} server
 * @property {Mode} mode
 * @property {Promise<void>} ready Resolves once every request can be served (in development, when Vite has
 *   started); rejects if Vite fails to start.
 * @property {(port?: number, host?: string) => Promise<string>} listen Resolves with the base URL.
 * @property {() => Promise<void>} close Stops accepting, ends open connections, closes Vite.
 */

const webRoot = fileURLToPath(new URL('..', import.meta.url))

/** Hashed build output: the name changes whenever the content does. */
const IMMUTABLE = 'public, max-age=31536000, immutable'
/** How long a readiness check waits for Vite to start before it answers 503 Starting. */
const HEALTH_HOLD_MS = 5000

/**
 * The API's base URL: `API_URL` if set, else Aspire's `services__api__https__0`, else
 * `services__api__http__0` (set by `.WithReference(api)` in the AppHost).
 * @param {NodeJS.ProcessEnv} env
 * @returns {string}
 */
export function resolveApiUrl(env) {
  const value = env.API_URL || env.services__api__https__0 || env.services__api__http__0
  if (!value) {
    throw new Error(
      'No API address. Set services__api__https__0 or services__api__http__0 ' +
        '(Aspire sets them when the AppHost does .WithReference(api)), or API_URL.',
    )
  }
  try {
    return new URL(value).href
  } catch {
    throw new Error(`The API address is not a URL: ${value}`)
  }
}

/**
 * `--mode production` (or `--mode=production`) wins; else NODE_ENV decides.
 * @param {readonly string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @returns {Mode}
 */
export function resolveMode(argv, env) {
  const index = argv.findIndex((arg) => arg === '--mode' || arg.startsWith('--mode='))
  const value = index < 0 ? env.NODE_ENV : argv[index]?.includes('=') ? argv[index]?.split('=')[1] : argv[index + 1]
  return value === 'production' ? 'production' : 'development'
}

/** @param {NodeJS.ProcessEnv} [env] */
export function createLogger(env = process.env) {
  return pino({ level: env.LOG_LEVEL ?? 'info', base: { service: env.OTEL_SERVICE_NAME ?? 'web' } })
}

/**
 * Builds the server without listening (tests listen on port 0).
 * @param {ServerOptions} options
 * @returns {Promise<WebServer>}
 */
export async function createServer(options) {
  const mode = options.mode ?? 'development'
  const root = options.root ?? webRoot
  const distDir = options.distDir ?? path.join(root, 'dist')
  const logger = options.logger ?? createLogger()
  const shutdownGraceMs = options.shutdownGraceMs ?? 2000
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000
  const apiResponseTimeoutMs = options.apiResponseTimeoutMs ?? 10_000
  const apiUrl = new URL(options.apiUrl).href
  const clientTrust = options.clientTrust ?? { trustProxy: false, trustContainerAppsAuth: false }

  const app = express()
  app.disable('x-powered-by')
  // Express picks some behaviour from its env; keep it in step with the mode.
  app.set('env', mode)
  // req.ip and req.protocol believe X-Forwarded-* only from these proxies.
  app.set('trust proxy', clientTrust.trustProxy)
  // Slow headers hold a socket of the public server: end them as soon as the API would (Node checks every
  // connectionsCheckingInterval, so the 408 comes within a second or two of the limit).
  const server = http.createServer({ headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) }, app)

  // Vite starts beside the server, not before it: loading it, its config and the Vue compiler is most of the
  // server's start, and /health and /api need none of it. A page request that comes first waits.
  // Imported only in development: production installs no devDependencies.
  /** @type {Promise<import('vite').ViteDevServer | undefined>} */
  const vite =
    mode === 'production'
      ? Promise.resolve(undefined)
      : import('vite').then(({ createServer: createViteServer }) =>
          createViteServer({
            root,
            appType: 'spa',
            server: { middlewareMode: true, hmr: { server } },
          }),
        )
  // Without a handler here, a Vite that fails to start would be an unhandled rejection until the first page
  // request; `ready` reports it.
  const ready = vite.then(() => undefined)
  /** @type {'Starting' | 'Healthy' | 'Unhealthy'} */
  let status = 'Starting'
  const settled = ready.then(
    () => (status = 'Healthy'),
    () => (status = 'Unhealthy'),
  )

  app.use(securityHeaders(mode))
  // Ready, as the .NET services' /health is: 503 while the page cannot be served yet (Vite still starting, in
  // development) or at all (Vite failed), so that Aspire never announces a page that does not load. While Vite
  // starts, a check is held a few seconds first: it then completes the moment the page can be served, rather than
  // failing and leaving the next check to Aspire's back-off.
  app.get('/health', async (_req, res) => {
    if (status === 'Starting') {
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, HEALTH_HOLD_MS).unref())])
    }
    res.status(status === 'Healthy' ? 200 : 503).set('Cache-Control', 'no-store').json({ status })
  })
  app.use(requestLog(logger))
  app.use(rejectNonCanonicalPaths())
  // No compression middleware anywhere: it would buffer text/event-stream.
  // Connections to the API are kept and reused (http-proxy opens one per request without an agent): a chat
  // does not wait for a TCP handshake before its request goes out.
  const apiAgent = new (apiUrl.startsWith('https:') ? https : http).Agent({ keepAlive: true })
  app.use(apiProxy(apiUrl, apiAgent, apiResponseTimeoutMs, mode, logger, clientTrust))

  if (mode === 'production') {
    app.use(staticApp(distDir))
  } else {
    app.use((req, res, next) => {
      vite.then(
        (dev) => dev?.middlewares(req, res, next),
        () => res.status(503).type('text/plain').send("The page's development server (Vite) failed to start: see the web server's log.\n"),
      )
    })
  }

  /** @type {Promise<void> | undefined} */
  let closing
  /** @type {net.Server | undefined} */
  let loopbackV6
  return {
    app,
    server,
    mode,
    ready,
    async listen(port = 0, host) {
      if (host !== 'localhost') {
        const address = await listenOn(server, port, host)
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
        return `http://${shown}:${address.port}`
      }
      // "localhost" is 127.0.0.1 for some clients and ::1 for others (Aspire's proxy resolves
      // it too): answer on both loopback addresses, one port, one HTTP server.
      const { port: bound } = await listenOn(server, port, '127.0.0.1')
      const ipv6 = net.createServer((socket) => server.emit('connection', socket))
      try {
        await listenOn(ipv6, bound, '::1')
        loopbackV6 = ipv6
      } catch (err) {
        // A machine without IPv6 loopback has only 127.0.0.1 behind "localhost".
        const code = /** @type {NodeJS.ErrnoException} */ (err).code
        if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') {
          server.close()
          throw err
        }
      }
      return `http://localhost:${bound}`
    },
    close() {
      closing ??= (async () => {
        /** @param {net.Server | undefined} listener */
        const closeListener = (listener) =>
          new Promise((resolve) => {
            if (!listener?.listening) return resolve(undefined)
            listener.close(() => resolve(undefined))
          })
        // Each resolves once its own connections have ended (the ::1 ones are counted there).
        const closed = Promise.all([closeListener(server), closeListener(loopbackV6)])
        server.closeIdleConnections()
        // Open streams get a moment to end; then they are cut (the API cancels upstream).
        const force = setTimeout(() => server.closeAllConnections(), shutdownGraceMs)
        await Promise.all([closed, vite.then((dev) => dev?.close(), () => {})])
        clearTimeout(force)
        apiAgent.destroy()
      })()
      return closing
    },
  }
}

/**
 * Proxies /api/* (canonical paths only, see rejectNonCanonicalPaths). http-proxy pipes the
 * upstream response without buffering and copies X-Accel-Buffering back. The API gets only the
 * headers it reads (traceparent included; with OpenTelemetry on, the http instrumentation writes
 * the current span's traceparent instead) and an X-Forwarded-For this server vouches for.
 * @param {string} apiUrl
 * @param {http.Agent} agent
 * @param {number} responseTimeoutMs
 * @param {Mode} mode
 * @param {import('pino').Logger} logger
 * @param {import('./security.mjs').ClientTrust} clientTrust
 */
function apiProxy(apiUrl, agent, responseTimeoutMs, mode, logger, clientTrust) {
  return createProxyMiddleware({
    target: apiUrl,
    agent,
    pathFilter: '/api/',
    changeOrigin: true,
    // X-Forwarded-* are written by rewriteForwardedHeaders: http-proxy's xfwd appends to the client's.
    xfwd: false,
    // The ASP.NET dev certificate is not in Node's CA store; verify certificates in production.
    secure: mode === 'production',
    on: {
      proxyReq(proxyReq, req, res) {
        rewriteForwardedHeaders(proxyReq, /** @type {import('express').Request} */ (req), clientTrust.trustContainerAppsAuth)
        // Stop in the browser closes the response: end the upstream request at once so the
        // API cancels its OpenAI call (http-proxy alone only reacts to 'aborted').
        res.on('close', () => {
          if (!res.writableFinished) proxyReq.destroy()
        })
        // An API that takes the request but never answers (a frozen process, or Aspire's proxy holding the
        // connection while no replica runs) gets a 504 instead of a request that hangs. Counted from when the
        // whole request is sent, so that a slow upload stays the API's to judge (it answers those with 408).
        proxyReq.once('finish', () => {
          const late = setTimeout(() => {
            proxyReq.destroy(Object.assign(new Error('The API did not start its response in time.'), { code: 'ETIMEDOUT' }))
          }, responseTimeoutMs)
          proxyReq.once('response', () => clearTimeout(late))
          proxyReq.once('close', () => clearTimeout(late))
        })
      },
      proxyRes(proxyRes, req, res) {
        if (String(proxyRes.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          proxyRes.headers['x-accel-buffering'] ??= 'no'
          proxyRes.headers['cache-control'] ??= 'no-cache, no-transform'
        }
        // http-proxy pipes the body and ends the browser's response only on a complete one: an
        // API that dies or closes mid-stream would leave the browser waiting on an open stream
        // with no terminal event. Cut it too, as nginx does, so the page sees the lost connection.
        proxyRes.once('close', () => {
          if (proxyRes.complete || res.writableEnded || res.destroyed) return
          logger.warn(
            { path: req.url?.split('?')[0], status: proxyRes.statusCode },
            'api closed the response before its end; closing the client response',
          )
          res.destroy()
        })
      },
      error(err, req, res) {
        const code = /** @type {NodeJS.ErrnoException} */ (err).code
        logger.warn({ error: { code, message: err.message }, path: req.url?.split('?')[0] }, 'api proxy error')
        if (!(res instanceof http.ServerResponse)) {
          res.destroy()
        } else if (res.headersSent) {
          res.destroy()
        } else {
          const status = code === 'ETIMEDOUT' || code === 'ECONNABORTED' ? 504 : 502
          res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
          res.end(
            JSON.stringify({
              type: `https://tools.ietf.org/html/rfc9110#section-15.6.${status === 502 ? 3 : 5}`,
              title: 'The API is not reachable.',
              status,
            }),
          )
        }
      },
    },
  })
}

/**
 * @param {net.Server} server
 * @param {number} port
 * @param {string | undefined} host
 * @returns {Promise<net.AddressInfo>}
 */
function listenOn(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(/** @type {net.AddressInfo} */ (server.address()))
    })
  })
}

/**
 * The built app: hashed assets cached for a year, everything else revalidated, and
 * index.html for any other GET that wants HTML (client-side routes).
 * @param {string} distDir
 */
function staticApp(distDir) {
  const indexFile = path.join(distDir, 'index.html')
  if (!fs.existsSync(indexFile)) {
    throw new Error(`No built app at ${distDir}: run "npm run build" first.`)
  }
  const assetsDir = path.join(distDir, 'assets') + path.sep
  const router = express.Router()
  router.use(
    express.static(distDir, {
      index: false,
      setHeaders(res, filePath) {
        res.setHeader('Cache-Control', filePath.startsWith(assetsDir) ? IMMUTABLE : 'no-cache')
      },
    }),
  )
  router.use((req, res, next) => {
    const wantsApp =
      (req.method === 'GET' || req.method === 'HEAD') &&
      !req.path.startsWith('/api/') &&
      // A missing file (/assets/old-1a2b3c.js) is a 404, not the app.
      path.extname(req.path) === '' &&
      req.accepts('html') === 'html'
    if (!wantsApp) return next()
    res.sendFile(indexFile, {
      cacheControl: false,
      headers: { 'Cache-Control': 'no-cache' },
    })
  })
  return router
}

/**
 * One line per request: method, path, status, duration. Never bodies, queries or headers
 * (they may hold conversation text or keys). /api at info, the rest (assets, Vite) at debug.
 * @param {import('pino').Logger} logger
 * @returns {import('express').RequestHandler}
 */
function requestLog(logger) {
  return (req, res, next) => {
    const started = performance.now()
    res.on('close', () => {
      const fields = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(performance.now() - started),
        ...(res.writableFinished ? {} : { aborted: true }),
      }
      if (req.path.startsWith('/api/')) logger.info(fields, 'request')
      else logger.debug(fields, 'request')
    })
    next()
  }
}

/** Entry point: `node --import ./server/instrumentation.mjs server/index.mjs [--mode production]`. */
async function main() {
  const mode = resolveMode(process.argv.slice(2), process.env)
  if (mode === 'production') process.env.NODE_ENV = 'production'
  const logger = createLogger()

  let apiUrl
  try {
    apiUrl = resolveApiUrl(process.env)
  } catch (err) {
    logger.fatal(/** @type {Error} */ (err).message)
    await shutdownTelemetry()
    process.exit(1)
  }

  const port = process.env.PORT ? Number(process.env.PORT) : 5173
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    logger.fatal(`PORT is not a port number: ${process.env.PORT}`)
    await shutdownTelemetry()
    process.exit(1)
  }
  let clientTrust
  try {
    clientTrust = resolveClientTrust(process.env)
  } catch (err) {
    logger.fatal(/** @type {Error} */ (err).message)
    await shutdownTelemetry()
    process.exit(1)
  }

  // Unset: in development only this machine (Aspire's proxy reaches it on localhost); in
  // production every interface, IPv4 and IPv6 (what a container needs).
  const host = process.env.HOST || (mode === 'development' ? 'localhost' : undefined)
  const web = await createServer({ mode, apiUrl, logger, clientTrust })
  const url = await web.listen(port, host)
  logger.info({ mode, url, api: apiUrl, trustProxy: clientTrust.trustProxy, trustContainerAppsAuth: clientTrust.trustContainerAppsAuth }, 'web server listening')
  web.ready.catch(async (err) => {
    // A server that cannot serve the page must not stay up looking healthy.
    logger.fatal({ error: { message: /** @type {Error} */ (err).message } }, 'vite failed to start')
    await shutdownTelemetry()
    process.exit(1)
  })

  let stopping = false
  /** @param {NodeJS.Signals} signal */
  async function stop(signal) {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    setTimeout(() => process.exit(0), 5000).unref()
    await web.close()
    await shutdownTelemetry()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main()
}
