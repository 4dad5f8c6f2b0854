// Test helpers shared by the server specs: raw HTTP (fetch would normalize the paths under
// test), a logger whose records the test can read, stand-in servers on loopback, and the web
// server as a child process.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'

export const webRoot = fileURLToPath(new URL('../..', import.meta.url))
export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts a stand-in server (an API, a collector) on 127.0.0.1 and a free port.
 * `close` ends its open connections too.
 * @param {import('node:net').Server} server
 */
export async function listenOnLoopback(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** @returns {Promise<void>} */
    close: () =>
      new Promise((resolve) => {
        if (server instanceof http.Server) server.closeAllConnections()
        server.close(() => resolve(undefined))
      }),
  }
}

/**
 * One request with the path exactly as given (no URL normalization), and the whole answer.
 * @param {string} base e.g. http://127.0.0.1:1234
 * @param {string} method
 * @param {string} requestPath sent as is
 * @param {{ headers?: Record<string, string>, body?: string }} [options]
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string }>}
 */
export function rawRequest(base, method, requestPath, options = {}) {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: requestPath, headers: options.headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** A pino logger that keeps its records for the test to read. */
export function capturingLogger() {
  /** @type {Record<string, any>[]} */
  const records = []
  const logger = pino({ level: 'debug' }, { write: (line) => void records.push(JSON.parse(line)) })
  return { logger, records }
}

/** A minimal built app (`dist/`) for production mode. */
export async function makeDist() {
  const distDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gptaspire-web-dist-'))
  await fs.mkdir(path.join(distDir, 'assets'))
  await fs.writeFile(path.join(distDir, 'index.html'), '<!doctype html><title>app</title><div id="app"></div>')
  await fs.writeFile(path.join(distDir, 'assets', 'index-Bx9Xk2Qa.js'), 'console.log("app")')
  await fs.writeFile(path.join(distDir, 'favicon.ico'), 'icon')
  return { distDir, remove: () => fs.rm(distDir, { recursive: true, force: true }) }
}

/**
 * Runs `node --import ./server/instrumentation.mjs server/index.mjs [args]` as npm run dev / start do.
 * @param {NodeJS.ProcessEnv} env
 * @param {string[]} [args]
 */
export function startProcess(env, args = []) {
  return spawnServer(['--import', './server/instrumentation.mjs', 'server/index.mjs', ...args], {
    HOST: '127.0.0.1',
    PORT: '0',
    ...env,
  })
}

/**
 * Runs node with `nodeArgs` in the web project, with only PATH and `env` in its environment, and waits
 * for its `web server listening` log line.
 * @param {string[]} nodeArgs
 * @param {NodeJS.ProcessEnv} [env]
 */
export function spawnServer(nodeArgs, env = {}) {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: webRoot,
    env: { PATH: process.env.PATH, ...env },
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
