// OpenTelemetry for the Node server. Load it before the app:
//   node --import ./server/instrumentation.mjs server/index.mjs
// The SDK reads what Aspire's .WithOtlpExporter() sets: OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, and exports traces, metrics and logs (pino records) over OTLP.
// Without an endpoint nothing starts, so tests and plain runs stay quiet.
import { register } from 'node:module'
import { routeOf, setTelemetryShutdown } from './telemetry.mjs'

const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
if (endpoint && process.env.OTEL_SDK_DISABLED !== 'true') {
  // The ESM loader hook lets instrumentations patch modules that an ESM app imports (node:http, pino); without
  // it the server's http spans are silently missing. It wraps only the modules instrumented below: wrapping
  // every module the server and Vite import took about a third of a second of CPU at each start.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['http', 'https', 'pino'] } })

  // The three instrumentations the server uses, each on its own (http: the spans; pino: the logs; runtime: the
  // event loop and heap metrics): the auto-instrumentations bundle loads some forty, for libraries the server
  // does not use, and hooks every module load for them.
  const [{ NodeSDK }, { HttpInstrumentation }, { PinoInstrumentation }, { RuntimeNodeInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pino'),
    import('@opentelemetry/instrumentation-runtime-node'),
  ])

  /** Health probes and Vite's dev module requests would drown the traces. */
  const ignoredPath = /^\/(health$|@|src\/|node_modules\/)/

  // No express, router or connect instrumentation: one span per middleware (helmet, the request log, the path
  // check, the proxy, Vite's) says nothing an operator needs. A request is its server span, and the proxy's
  // call to the API its client span.
  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => ignoredPath.test(request.url ?? ''),
        // Spans are named by route ("POST /api/chat/stream", "GET /api/chat/stream/{requestId}"), not
        // by method alone, both the browser's request and the proxy's call to the API.
        startIncomingSpanHook: (request) => ({ 'http.route': routeOf(request.url ?? '') }),
        requestHook: (span, request) => {
          const target = 'path' in request ? request.path : (request.url ?? '')
          span.updateName(`${request.method ?? 'GET'} ${routeOf(target)}`)
        },
      }),
      // Log records go out over OTLP with the trace and span ids of the request they belong to.
      new PinoInstrumentation(),
      new RuntimeNodeInstrumentation(),
    ],
  })
  sdk.start()
  setTelemetryShutdown(() => sdk.shutdown())
}
