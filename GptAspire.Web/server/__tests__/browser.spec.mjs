// The development server's Content-Security-Policy in a real Chromium: the page, Vite's hot
// reload client and its WebSocket all work under it, with no violation reported.
import fs from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startProcess, startStandInApi } from './support.mjs'

/** CHROMIUM_PATH, else chromium on the PATH (what ./test.sh installs). */
function findChromium() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name)
      if (fs.existsSync(candidate)) return candidate
    }
  }
  throw new Error('No Chromium: set CHROMIUM_PATH or put chromium on the PATH (apt-get install chromium).')
}

/** @type {Awaited<ReturnType<typeof startStandInApi>>} */
let api

beforeAll(async () => {
  api = await startStandInApi()
})
afterAll(() => api.close())

it('runs the development page and hot reload under the Content-Security-Policy', { timeout: 60_000 }, async () => {
  const run = startProcess({ services__api__http__0: api.url, HOST: '' })
  const browser = await chromium.launch({
    executablePath: findChromium(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  try {
    const base = await run.listening()
    const page = await browser.newPage()
    /** @type {string[]} */
    const violations = []
    /** @type {string[]} */
    const console = []
    page.on('console', (message) => console.push(message.text()))
    await page.exposeFunction('reportViolation', (/** @type {string} */ text) => violations.push(text))
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        // @ts-expect-error exposed by the test
        window.reportViolation(`${e.effectiveDirective} blocked ${e.blockedURI} ${e.sample}`),
      ),
    )
    /** @type {string[]} */
    const sockets = []
    page.on('websocket', (socket) => sockets.push(socket.url()))

    const response = await page.goto(`${base}/`)
    const policy = (await response?.allHeaders())?.['content-security-policy'] ?? ''
    await page.getByTestId('composer-input').waitFor({ timeout: 30_000 })
    await expect.poll(() => console.includes('[vite] connected.'), { timeout: 15_000 }).toBe(true)

    expect(policy).toContain("script-src 'self';")
    expect(policy).toContain("connect-src 'self';")
    expect(sockets.map((url) => new URL(url).host)).toEqual([new URL(base).host])
    // Vite's dev CSS arrives as style elements, as hot updates do.
    expect(await page.locator('style[data-vite-dev-id]').count()).toBeGreaterThan(0)
    expect(violations).toEqual([])
  } finally {
    await browser.close()
    run.child.kill('SIGTERM')
    await run.exited
  }
})
