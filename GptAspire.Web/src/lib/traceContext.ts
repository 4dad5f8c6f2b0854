/**
 * A W3C `traceparent` header (version 00, sampled) for one chat request. The browser starts the trace;
 * the web server, the API and the OpenAI call continue it, and the `start` event reports its trace id.
 */
export function createTraceparent(
  fill: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes),
): string {
  const hex = (length: number) => {
    const bytes = fill(new Uint8Array(length))
    // An all-zero id is invalid: set the last bit, which keeps it random enough and valid.
    if (bytes.every((b) => b === 0)) bytes[length - 1] = 1
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  }
  return `00-${hex(16)}-${hex(8)}-01`
}
