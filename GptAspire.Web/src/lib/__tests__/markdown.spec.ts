import { describe, expect, it } from 'vitest'
import { IncrementalMarkdown, renderMarkdown } from '../markdown'

// Shaped like a model's answer: every kind of block, blocks that only become what they are when a
// later line arrives (a setext heading, a table, a loose list), and code fences with blank lines.
const answer = `Here is a **practical** way to think about it.

Keep the configuration in one place
so that a change is made once.
Setext heading
---

A few points:

- **Start small**: one path first.
- **Make failures visible**

- a loose item, after a blank line
  with a lazy second line

1. first
2. second

> quoted
continued lazily

| name | value |
|------|-------|
| a    | 1     |

\`\`\`ts
export async function withRetry<T>(run: () => Promise<T>): Promise<T> {

  return await run() // a blank line above stays inside the fence
}
\`\`\`

    indented code

# Heading
Text right after a heading, and a link: https://example.com/docs.

***

Last words.
`

/** The answer cut into pieces of a few characters, as tokens arrive. */
function pieces(text: string): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; ) {
    const size = 1 + (i % 5)
    out.push(text.slice(i, i + size))
    i += size
  }
  return out
}

const joined = (blocks: { html: string }[]) => blocks.map((b) => b.html).join('')

describe('IncrementalMarkdown', () => {
  it('renders every prefix of a growing answer exactly as a full render would', () => {
    const markdown = new IncrementalMarkdown()
    let text = ''
    for (const piece of pieces(answer)) {
      text += piece
      expect(joined(markdown.render(text)), `after ${JSON.stringify(text.slice(-40))}`).toBe(renderMarkdown(text))
    }
    // Over a thousand full renders in jsdom: seconds of work on a busy machine, not a time limit.
  }, 60_000)

  it('renders the earlier blocks once: later updates give them back unchanged', () => {
    const markdown = new IncrementalMarkdown()
    const early = markdown.render('First paragraph.\n\n- one\n- two\n\nThird')
    const later = markdown.render('First paragraph.\n\n- one\n- two\n\nThird paragraph, longer now.\n\nFourth')

    expect(early).toHaveLength(3)
    expect(later).toHaveLength(4)
    expect(later[0]).toBe(early[0])
    expect(later[1]).toBe(early[1])
    expect(later[2]).not.toBe(early[2])
    expect(later.map((b) => b.key)).toEqual([0, 1, 2, 3])
  })

  it('starts over when the text does not continue the previous one', () => {
    const markdown = new IncrementalMarkdown()
    markdown.render('# Old\n\nOld text\n\nmore')

    const blocks = markdown.render('New text\n\n- item')

    expect(joined(blocks)).toBe(renderMarkdown('New text\n\n- item'))
    expect(blocks.map((b) => b.key)).toEqual([0, 1])
  })
})

describe('renderMarkdown', () => {
  it('highlights a named language with classes only, no inline styles', () => {
    const html = renderMarkdown('```ts\nconst answer: number = 42 // why\n```\n')

    expect(html).toContain('<code class="language-ts">')
    expect(html).toContain('<span class="hljs-keyword">const</span>')
    expect(html).toContain('<span class="hljs-number">42</span>')
    expect(html).toContain('<span class="hljs-comment">// why</span>')
    expect(html).not.toMatch(/style=/)
  })

  it('highlights a code block that is still streaming (its fence not closed yet)', () => {
    const html = renderMarkdown('Some code:\n\n```python\ndef chunked(items, size):\n    for start in')

    expect(html).toContain('<span class="hljs-keyword">def</span>')
    expect(html).toContain('<span class="hljs-title function_">chunked</span>')
  })

  it('leaves unknown or missing languages as escaped text', () => {
    const unknown = renderMarkdown('```klingon\n<b>qapla</b>\n```\n')
    const none = renderMarkdown('```\nif (a < b) {}\n```\n')

    expect(unknown).toContain('&lt;b&gt;qapla&lt;/b&gt;')
    expect(unknown).not.toContain('hljs-')
    expect(none).toContain('if (a &lt; b) {}')
    expect(none).not.toContain('hljs-')
  })

  it('keeps hostile text inside code inert', () => {
    const html = renderMarkdown('```html\n<img src=x onerror="alert(1)"><script>alert(2)</script>\n```\n')
    const element = document.createElement('div')
    element.innerHTML = html

    expect(element.querySelectorAll('img, script')).toHaveLength(0)
    expect(element.querySelector('pre')?.textContent).toContain('<img src=x onerror="alert(1)">')
  })
})
