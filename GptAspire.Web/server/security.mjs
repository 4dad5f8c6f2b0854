// What the web server does so that it can be the app's only public endpoint: security headers
// on every response, no request path that could resolve outside what it means to serve, and
// an API that sees only the headers it needs plus a client identity the client cannot choose.
import net from 'node:net'
import express from 'express'
import helmet from 'helmet'

/** @typedef {'development' | 'production'} Mode */

/**
 * @typedef {object} ClientTrust
 * @property {boolean | number | string[]} trustProxy Express's `trust proxy`: `false` (the socket's
 *   peer is the client), a hop count, or the proxies' addresses / CIDR ranges.
 * @property {boolean} trustContainerAppsAuth Pass Azure Container Apps authentication's
 *   `X-MS-CLIENT-PRINCIPAL*` headers on to the API (otherwise they are dropped).
 */

/**
 * Defense in depth for model output rendered as HTML: scripts only from this origin and never
 * inline, no remote images (a model-chosen URL could leak the conversation), API calls
 * same-origin, never framed. Styles may be inline: Vue's `:style` bindings and Vite's dev CSS
 * are style elements and attributes, and a style cannot run code. The same in both modes.
 */
export function contentSecurityPolicyDirectives() {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    // Also all that Vite's hot reload needs in development: its client is a module from this
    // origin, its WebSocket goes to the page's own host and port (CSP3 'self' matches ws: and
    // wss: there), and its CSS updates are style elements.
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  }
}

/** Powerful features the chat page never uses: nobody embedding or injecting into it gets them. */
export const PERMISSIONS_POLICY = [
  'accelerometer=()',
  'autoplay=()',
  'camera=()',
  'display-capture=()',
  'geolocation=()',
  'gyroscope=()',
  'magnetometer=()',
  'microphone=()',
  'midi=()',
  'payment=()',
  'publickey-credentials-get=()',
  'usb=()',
  'xr-spatial-tracking=()',
].join(', ')

/**
 * helmet's headers, tuned for the app, plus Permissions-Policy (helmet has none). HSTS only in
 * production: a browser that saw it on localhost would refuse every other plain-HTTP app there.
 * @param {Mode} mode
 * @returns {import('express').RequestHandler}
 */
export function securityHeaders(mode) {
  const headers = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicyDirectives() },
    strictTransportSecurity: mode === 'production' ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  })
  return (req, res, next) => {
    res.setHeader('Permissions-Policy', PERMISSIONS_POLICY)
    headers(req, res, next)
  }
}

/** A segment that a server or the API could resolve as `.` or `..` (`..;` is Tomcat's form). */
const DOT_SEGMENT = /^\.\.?(;.*)?$/
/** Encoded `/` or `\`: some servers decode them into separators after routing. */
const ENCODED_SEPARATOR = /%(2f|5c)/i
/** Anything but printable ASCII has no business in a raw path... */
const UNPRINTABLE = /[^\x21-\x7e]/
/** ...and control characters none in a decoded one. */
const CONTROL = /[\x00-\x1f\x7f]/

/**
 * Whether a request target is a plain absolute path that means the same before and after any
 * normalization a server down the line may do: no `.`/`..` segments (also percent-encoded, once
 * or twice), no empty segments (`//`), no backslashes, no encoded separators, valid UTF-8
 * percent-encoding. A proxy that matched `/api/` on the raw path would otherwise forward
 * `/api/../openapi/v1.json`, which the API normalizes to `/openapi/v1.json`.
 * @param {string} target The request's raw URL (`req.url`).
 */
export function isCanonicalPath(target) {
  if (!target.startsWith('/')) return false
  const query = target.indexOf('?')
  let path = query < 0 ? target : target.slice(0, query)
  for (let round = 0; ; round++) {
    if ((round === 0 ? UNPRINTABLE : CONTROL).test(path)) return false
    if (path.includes('\\') || path.includes('//') || ENCODED_SEPARATOR.test(path)) return false
    if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) return false
    if (round === 0 && /%(?![0-9a-f]{2})/i.test(path)) return false
    if (!/%[0-9a-f]{2}/i.test(path)) return true
    // Two rounds catch double encoding (%252e%252e); a literal % after that is just a character.
    if (round === 2) return true
    try {
      path = decodeURIComponent(path)
    } catch {
      if (round === 0) return false
      return true
    }
  }
}

/**
 * 400 for any request whose path is not canonical (see {@link isCanonicalPath}), before it can
 * reach the proxy, Vite or the static files. YARP and nginx also refuse or normalize these.
 * @returns {import('express').RequestHandler}
 */
export function rejectNonCanonicalPaths() {
  return (req, res, next) => {
    if (isCanonicalPath(req.url)) return next()
    res.status(400).set({ 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
    res.end(
      JSON.stringify({
        type: 'https://tools.ietf.org/html/rfc9110#section-15.5.1',
        title: 'The request path is not valid.',
        status: 400,
      }),
    )
  }
}

/** Request headers the API reads; everything else (cookies, Authorization, ...) stays here. */
export const FORWARDED_REQUEST_HEADERS = new Set([
  'host',
  'content-type',
  'content-length',
  // Kept so that the outgoing request frames a chunked body the same way (never re-framed raw).
  'transfer-encoding',
  'accept',
  'last-event-id',
  'traceparent',
  'tracestate',
  'baggage',
])

/** Set by Azure Container Apps authentication for a signed-in user. */
export const CONTAINER_APPS_PRINCIPAL_HEADERS = [
  'x-ms-client-principal',
  'x-ms-client-principal-id',
  'x-ms-client-principal-name',
  'x-ms-client-principal-idp',
]

/**
 * Reads who may vouch for the client from the environment:
 * - `TRUSTED_PROXIES`: unset, empty or `0`/`false` = nobody (the socket's peer is the client); a
 *   number = that many proxies in front (Azure Container Apps' ingress is `1`); otherwise a
 *   comma-separated list of addresses, CIDR ranges or the names `loopback`, `linklocal`,
 *   `uniquelocal`.
 * - `TRUST_CONTAINER_APPS_AUTH=true`: the app runs behind Container Apps authentication, which
 *   sets the `X-MS-CLIENT-PRINCIPAL*` headers itself.
 * @param {NodeJS.ProcessEnv} env
 * @returns {ClientTrust}
 */
export function resolveClientTrust(env) {
  const raw = (env.TRUSTED_PROXIES ?? '').trim()
  /** @type {ClientTrust['trustProxy']} */
  let trustProxy
  if (raw === '' || raw === '0' || raw.toLowerCase() === 'false') {
    trustProxy = false
  } else if (/^\d+$/.test(raw)) {
    trustProxy = Number(raw)
  } else {
    trustProxy = raw.split(',').map((entry) => entry.trim()).filter(Boolean)
    try {
      // Express compiles the list when it is set: an address it cannot read fails here, at start.
      express().set('trust proxy', trustProxy)
    } catch (err) {
      throw new Error(`TRUSTED_PROXIES has ${JSON.stringify(raw)}: ${/** @type {Error} */ (err).message}`)
    }
  }
  const auth = (env.TRUST_CONTAINER_APPS_AUTH ?? '').trim().toLowerCase()
  if (auth !== '' && auth !== 'true' && auth !== 'false') {
    throw new Error(`TRUST_CONTAINER_APPS_AUTH must be true or false, not ${env.TRUST_CONTAINER_APPS_AUTH}`)
  }
  return { trustProxy, trustContainerAppsAuth: auth === 'true' }
}

/**
 * The client's address without the IPv4-mapped IPv6 prefix, so one client is one partition.
 * @param {string | undefined} address
 */
export function normalizeAddress(address) {
  if (!address) return ''
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

/**
 * Rewrites the outgoing API request's headers: only the allowlist, a fresh
 * `X-Forwarded-For: <client>` and `X-Forwarded-Proto` (whatever the client sent is replaced), and
 * the Container Apps principal only when trusted.
 * @param {import('node:http').ClientRequest} proxyReq
 * @param {import('express').Request} req
 * @param {boolean} trustContainerAppsAuth
 */
export function rewriteForwardedHeaders(proxyReq, req, trustContainerAppsAuth) {
  for (const name of proxyReq.getHeaderNames()) {
    if (!FORWARDED_REQUEST_HEADERS.has(name)) proxyReq.removeHeader(name)
  }
  // A proxy that is trusted but forwards nonsense does not get to name the client either.
  const client = net.isIP(req.ip ?? '') ? req.ip : req.socket.remoteAddress
  proxyReq.setHeader('x-forwarded-for', normalizeAddress(client))
  proxyReq.setHeader('x-forwarded-proto', req.protocol === 'https' ? 'https' : 'http')
  if (trustContainerAppsAuth) {
    for (const name of CONTAINER_APPS_PRINCIPAL_HEADERS) {
      const value = req.headers[name]
      if (typeof value === 'string') proxyReq.setHeader(name, value)
    }
  }
}
