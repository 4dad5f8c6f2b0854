// How much rendering a 4,000-token answer costs the page, token by token as it streams:
// `npx vitest bench --run --project web`. Each run renders the whole stream.
import { bench, describe } from 'vitest'
import { IncrementalMarkdown, renderMarkdown } from '../markdown'

const section = (i: number) => `Keep the configuration in one place so that a change is made once and is visible to
everyone reading the code (${i}). Log the decisions your code makes, not just the errors.

A few points to keep in mind:

- **Start small**: get one end-to-end path working before adding options.
- **Make failures visible**: return clear errors and record them with enough context.
- **Keep it observable**: traces and metrics turn guesses into answers.

For example:

\`\`\`ts
export async function withRetry<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try { return await run() } catch (e) { if (i >= attempts) throw e }
  }
}
\`\`\`

`

/** An answer of about `count` tokens of about 4 characters, and where its text ends after each token. */
function stream(count: number) {
  let answer = ''
  for (let i = 0; (answer.match(/\s*\S{1,4}/g)?.length ?? 0) < count; i++) answer += section(i)
  const tokens = (answer.match(/\s*\S{1,4}/g) ?? []).slice(0, count)
  const ends: number[] = []
  let end = 0
  for (const token of tokens) ends.push((end += token.length))
  // A page that renders once per animation frame, at 3 tokens a frame, renders these.
  const frameEnds = ends.filter((_, i) => i % 3 === 2 || i === ends.length - 1)
  return { text: answer.slice(0, end), ends, frameEnds }
}

function incremental(text: string, ends: number[]) {
  const markdown = new IncrementalMarkdown()
  for (const end of ends) markdown.render(text.slice(0, end))
}

// jsdom's DOM (DOMPurify's) is much slower than a browser's: compare the three ways, not the times.
const short = stream(1000)
describe(`a 1,000-token answer, ${short.text.length} characters`, () => {
  bench('whole answer rendered on every token', () => {
    for (const end of short.ends) renderMarkdown(short.text.slice(0, end))
  }, { iterations: 1, time: 0, warmupIterations: 0 })
  bench('last block rendered on every token', () => incremental(short.text, short.ends), { iterations: 3, time: 0 })
  bench('last block rendered once per frame', () => incremental(short.text, short.frameEnds), { iterations: 3, time: 0 })
})

// Rendering the whole answer each time is quadratic: at 4,000 tokens it takes minutes here.
const long = stream(4000)
describe(`a 4,000-token answer, ${long.text.length} characters`, () => {
  bench('last block rendered on every token', () => incremental(long.text, long.ends), { iterations: 3, time: 0 })
  bench('last block rendered once per frame', () => incremental(long.text, long.frameEnds), { iterations: 3, time: 0 })
})
