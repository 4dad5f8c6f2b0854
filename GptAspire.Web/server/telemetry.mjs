// Lets the server flush telemetry on shutdown without importing the SDK itself:
// instrumentation.mjs (loaded with --import) registers how; index.mjs calls it.

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
