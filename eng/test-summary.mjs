// Adds up the results of every suite (Vitest JUnit XML and .NET TRX files) into one line:
// "N passed, N failed". Exits 1 when a test failed or when no results were written at all.
// With --timed-out (the run was stopped at its overall bound) the stopped run counts as one failure.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.argv[2]
const files = readdirSync(dir, { recursive: true }).map(String)
let passed = 0
let failed = 0
let skipped = 0
const suites = []

// Only result files: the test runner may leave folders beside them (the blame collector's, for one).
for (const file of files.filter((f) => f.endsWith('.trx') || f.endsWith('.junit.xml'))) {
  const xml = readFileSync(join(dir, file), 'utf8')
  if (file.endsWith('.trx')) {
    const counters = /<Counters\b([^>]*)\/>/.exec(xml)?.[1] ?? ''
    const count = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(counters)?.[1] ?? 0)
    const name = /<UnitTest\b[^>]*storage="([^"]+)"/.exec(xml)?.[1]?.split(/[\\/]/).pop() ?? file
    const p = count('passed')
    const f = count('failed') + count('error') + count('timeout') + count('aborted')
    const s = count('notExecuted')
    suites.push(`${name}: ${p} passed, ${f} failed, ${s} skipped`)
    passed += p
    failed += f
    skipped += s
  } else if (file.endsWith('.junit.xml')) {
    const attrs = /<testsuites\b([^>]*)>/.exec(xml)?.[1] ?? ''
    const count = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(attrs)?.[1] ?? 0)
    const f = count('failures') + count('errors')
    const s = count('skipped')
    const p = count('tests') - f - s
    suites.push(`${file}: ${p} passed, ${f} failed, ${s} skipped`)
    passed += p
    failed += f
    skipped += s
  }
}

for (const line of suites) console.log(`  ${line}`)
if (process.argv.includes('--timed-out')) {
  console.log('  the run was stopped at its time limit: 1 failed')
  failed += 1
} else if (suites.length === 0) {
  console.log('no test results were written')
  failed += 1
}
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''))
process.exit(failed > 0 ? 1 : 0)
