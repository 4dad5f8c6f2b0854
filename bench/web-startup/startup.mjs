// The chat page's server on its own, started as the AppHost starts it (development, OpenTelemetry on): time to
// /health answering, the CPU it took to get there, then the page's first requests (Vite's first transforms).
//   node bench/web-startup/startup.mjs [--runs 5] [--cold] [web directory]...
// Several directories (other checkouts' GptAspire.Web) run interleaved, one after the other per round, so that
// each sees the same machine load. CPU is utime + stime from /proc of the server and its children (esbuild).
// Warm (the default), each directory first gets Vite's dependency cache (node_modules/.vite) as a page load in a
// browser leaves it, as on every start after the first; --cold deletes it before each run, as after `npm ci`.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const runsAt = args.indexOf('--runs')
const runs = runsAt < 0 ? 5 : Number(args.splice(runsAt, 2)[1])
const coldAt = args.indexOf('--cold')
const cold = coldAt >= 0
if (cold) args.splice(coldAt, 1)
const dirs = args.length > 0 ? args.map((d) => path.resolve(d)) : [fileURLToPath(new URL('../../GptAspire.Web', import.meta.url))]
const ticksPerSecond = 100

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address())
      server.close(() => resolve(port))
    })
  })
}

/** CPU seconds of the process and of its live descendants (Vite's esbuild service). */
function cpuOf(pid) {
  /** @type {Map<number, { ppid: number, ticks: number }>} */
  const all = new Map()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      all.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) })
    } catch {
      // Gone since the listing.
    }
  }
  const isOurs = (/** @type {number} */ p) => {
    for (let at = p; at > 1; at = all.get(at)?.ppid ?? 0) if (at === pid) return true
    return false
  }
  let ticks = 0
  for (const [p, { ticks: t }] of all) if (isOurs(p)) ticks += t
  return ticks / ticksPerSecond
}

async function get(url) {
  const started = performance.now()
  const response = await fetch(url)
  await response.arrayBuffer()
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
  return performance.now() - started
}

async function once(dir, { prepare = false } = {}) {
  if (cold && !prepare) fs.rmSync(path.join(dir, 'node_modules', '.vite'), { recursive: true, force: true })
  const port = await freePort()
  const deadOtlp = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', './server/instrumentation.mjs', 'server/index.mjs'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      services__api__http__0: 'http://localhost:1',
      // What the AppHost's WithOtlpExporter() sets; nothing listens there, and export only fails later.
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${deadOtlp}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-otlp-api-key=startup',
      OTEL_SERVICE_NAME: 'web',
      OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=startup',
      OTEL_BSP_SCHEDULE_DELAY: '1000',
      OTEL_BLRP_SCHEDULE_DELAY: '1000',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_TRACES_SAMPLER: 'always_on',
    },
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    const base = `http://127.0.0.1:${port}`
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`)
      try {
        await get(`${base}/health`)
        break
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      if (performance.now() - started > 60_000) throw new Error('no /health in 60 s')
    }
    const health = performance.now() - started
    const healthCpu = cpuOf(child.pid)
    const page = await get(`${base}/`)
    const pageAt = performance.now() - started
    const main = await get(`${base}/src/main.ts`)
    const app = await get(`${base}/src/App.vue`)
    if (prepare) {
      // Vite writes its dependency cache once the page's imports have been crawled and the optimizer is done.
      const metadata = path.join(dir, 'node_modules', '.vite', 'deps', '_metadata.json')
      for (const started = performance.now(); !fs.existsSync(metadata) && performance.now() - started < 30_000; ) {
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      if (!fs.existsSync(metadata)) throw new Error(`${dir}: Vite wrote no dependency cache`)
    }
    return { health, healthCpu, page, pageAt, firstModules: main + app, cpu: cpuOf(child.pid) }
  } finally {
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 6000)
    await exited
    clearTimeout(timer)
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

if (!cold) for (const dir of dirs) await once(dir, { prepare: true })
const results = dirs.map(() => [])
for (let run = 0; run < runs; run++) {
  for (const [i, dir] of dirs.entries()) {
    const r = await once(dir)
    results[i].push(r)
    console.log(
      `${dir} run ${run + 1}: /health ${r.health.toFixed(0)} ms, ${r.healthCpu.toFixed(2)} s CPU; ` +
        `GET / ${r.page.toFixed(0)} ms (served at ${r.pageAt.toFixed(0)} ms), main.ts + App.vue ${r.firstModules.toFixed(0)} ms; ${r.cpu.toFixed(2)} s CPU in all`,
    )
  }
}
console.log(`\nmedians of ${runs}, ${cold ? 'cold' : 'warm'} (load average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`)
for (const [i, dir] of dirs.entries()) {
  const m = (key) => median(results[i].map((r) => r[key]))
  console.log(
    `${dir}: /health ${m('health').toFixed(0)} ms, ${m('healthCpu').toFixed(2)} s CPU; GET / ${m('page').toFixed(0)} ms, served at ${m('pageAt').toFixed(0)} ms; ` +
      `main.ts + App.vue ${m('firstModules').toFixed(0)} ms; ${m('cpu').toFixed(2)} s CPU in all`,
  )
}
