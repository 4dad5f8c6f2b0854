import MarkdownIt from 'markdown-it'
import DOMPurify from 'dompurify'
import { highlightCode } from './highlight'

/**
 * Markdown for model output. The model's text is untrusted: markdown-it escapes raw HTML
 * (`html: false`) and drops `javascript:`-style links, and DOMPurify sanitizes the result again,
 * so nothing the model writes can run. Code is highlighted with classes only (no inline styles),
 * so the page's Content-Security-Policy needs no `unsafe-inline` for it.
 */
const md = new MarkdownIt({
  html: false,
  linkify: true,
  typographer: false,
  highlight: (code, language) => highlightCode(code, language),
})

// A remote image is a request the model chooses (and a way to leak the conversation in its
// URL), so images are not rendered: `![alt](url)` stays text.
md.disable('image')

type Token = ReturnType<typeof md.parse>[number]

const copyButton =
  '<button type="button" class="copy-button" data-testid="copy-button" data-copy-code>Copy</button>'

for (const rule of ['fence', 'code_block'] as const) {
  const render = md.renderer.rules[rule]
  if (!render) continue
  md.renderer.rules[rule] = (tokens, idx, options, env, self) =>
    `<div class="code-block">${copyButton}${render(tokens, idx, options, env, self)}</div>`
}

const purifier = DOMPurify()
purifier.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer nofollow')
  }
})

function sanitize(html: string): string {
  return purifier.sanitize(html, {
    FORBID_TAGS: ['img', 'style', 'form', 'input', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
  })
}

/** Renders untrusted Markdown to sanitized HTML, safe for `v-html`. Works on partial text. */
export function renderMarkdown(source: string): string {
  return sanitize(md.render(source))
}

/** One top-level block of rendered Markdown (a paragraph, a list, a code block...). */
export interface MarkdownBlock {
  /** Stable for the life of the block: its position in the answer. */
  key: number
  /** Sanitized HTML, safe for `v-html`. */
  html: string
}

/**
 * Renders a growing Markdown text block by block, so that the work per update is the size of
 * the last block, not of the whole answer. Every block but the last is final once a later block
 * has started (CommonMark closes a block when the next one begins), so it is rendered once and
 * kept; only the last block is parsed and rendered again as text arrives.
 *
 * A text that does not continue the previous one (an edit, another answer) starts over.
 */
export class IncrementalMarkdown {
  private frozen: MarkdownBlock[] = []
  /** The start of the text that the frozen blocks were rendered from. */
  private frozenSource = ''

  /** The blocks of `source`, rendered. Earlier blocks come back as the same objects. */
  render(source: string): MarkdownBlock[] {
    if (!source.startsWith(this.frozenSource)) {
      this.frozen = []
      this.frozenSource = ''
    }

    const tail = source.slice(this.frozenSource.length)
    const env = {}
    const groups = topLevelBlocks(md.parse(tail, env))
    const render = (tokens: Token[], index: number): MarkdownBlock => ({
      key: this.frozen.length + index,
      html: sanitize(md.renderer.render(tokens, md.options, env)),
    })

    // Freeze all but the last block, and move the frozen boundary to where the last one starts.
    const last = groups.at(-1)
    if (groups.length > 1 && last) {
      const blocks = groups.slice(0, -1).map((group, i) => render(group.tokens, i))
      this.frozen = [...this.frozen, ...blocks]
      this.frozenSource += tail.slice(0, offsetOfLine(tail, last.startLine))
      return [...this.frozen, render(last.tokens, 0)]
    }
    return last ? [...this.frozen, render(last.tokens, 0)] : this.frozen
  }
}

interface BlockGroup {
  tokens: Token[]
  startLine: number
}

/** Splits markdown-it's flat token stream into its top-level blocks, with the line each starts on. */
function topLevelBlocks(tokens: Token[]): BlockGroup[] {
  const groups: BlockGroup[] = []
  let current: BlockGroup | null = null
  for (const token of tokens) {
    if (!current) {
      current = { tokens: [], startLine: token.map?.[0] ?? 0 }
      groups.push(current)
    }
    current.tokens.push(token)
    if (token.level === 0 && token.nesting <= 0) current = null
  }
  return groups
}

/** Character offset at which 0-based line `line` of `text` starts. */
function offsetOfLine(text: string, line: number): number {
  let offset = 0
  for (let i = 0; i < line; i++) {
    const next = text.indexOf('\n', offset)
    if (next < 0) return text.length
    offset = next + 1
  }
  return offset
}

/** Text of the code block that a copy button belongs to. */
export function codeForCopyButton(button: Element): string | null {
  return button.closest('.code-block')?.querySelector('pre')?.textContent ?? null
}
