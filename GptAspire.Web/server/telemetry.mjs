// Lets the server flush telemetry on shutdown without importing the SDK itself:
// instrumentation.mjs (loaded with --import) registers how; index.mjs calls it. Also names the
// server's spans by route, here where tests can reach it without the SDK.

/** @type {(() => Promise<void>) | undefined} */
let shutdown

/** @param {() => Promise<void>} fn */
export function setTelemetryShutdown(fn) {
  shutdown = fn
}

/** Flushes and stops the OpenTelemetry SDK, if it was started; never throws. */
export async function shutdownTelemetry() {
  try {
    await shutdown?.()
  } catch {
    // Telemetry must not block or fail a shutdown.
  }
}

/**
 * The API's routes as the proxy passes them on; ids become their template.
 * @type {[RegExp, string][]}
 */
const API_ROUTES = [
  [/^\/api\/chat\/stream\/?$/, '/api/chat/stream'],
  [/^\/api\/chat\/stream\/[^/]+\/stop\/?$/, '/api/chat/stream/{requestId}/stop'],
  [/^\/api\/chat\/stream\/[^/]+\/?$/, '/api/chat/stream/{requestId}'],
  [/^\/api\/info\/?$/, '/api/info'],
]

/**
 * The route of a request path, for span names and `http.route`: the API's routes with `{requestId}`
 * for the id (so every answer's spans share a name), `/api/*` for other API paths, `/health`,
 * `/assets/*` for built files, and `/*` for the page and everything else it serves.
 * @param {string} target the request target (path and query)
 * @returns {string}
 */
export function routeOf(target) {
  const path = target.split('?')[0] ?? ''
  for (const [pattern, route] of API_ROUTES) if (pattern.test(path)) return route
  if (path === '/api' || path.startsWith('/api/')) return '/api/*'
  if (path === '/health') return '/health'
  if (path.startsWith('/assets/')) return '/assets/*'
  return '/*'
}
