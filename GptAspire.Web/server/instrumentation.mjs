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
  // The ESM loader hook lets instrumentations patch modules that an ESM app imports
  // (node:http, express, pino); without it the server's http spans are silently missing.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)

  const { NodeSDK } = await import('@opentelemetry/sdk-node')
  const { getNodeAutoInstrumentations } = await import('@opentelemetry/auto-instrumentations-node')

  /** Health probes and Vite's dev module requests would drown the traces. */
  const ignoredPath = /^\/(health$|@|src\/|node_modules\/)/

  const sdk = new NodeSDK({
    instrumentations: [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        // One span per middleware (helmet, the request log, the path check, the proxy, Vite's) says nothing an
        // operator needs: a request is its server span, and the proxy's call to the API its client span.
        // Express 5 routes through the `router` package, and Vite's dev middleware is connect's: all three off.
        '@opentelemetry/instrumentation-express': { enabled: false },
        '@opentelemetry/instrumentation-router': { enabled: false },
        '@opentelemetry/instrumentation-connect': { enabled: false },
        '@opentelemetry/instrumentation-http': {
          ignoreIncomingRequestHook: (request) => ignoredPath.test(request.url ?? ''),
          // Spans are named by route ("POST /api/chat/stream", "GET /api/chat/stream/{requestId}"), not
          // by method alone, both the browser's request and the proxy's call to the API.
          startIncomingSpanHook: (request) => ({ 'http.route': routeOf(request.url ?? '') }),
          requestHook: (span, request) => {
            const target = 'path' in request ? request.path : (request.url ?? '')
            span.updateName(`${request.method ?? 'GET'} ${routeOf(target)}`)
          },
        },
      }),
    ],
  })
  sdk.start()
  setTelemetryShutdown(() => sdk.shutdown())
}
