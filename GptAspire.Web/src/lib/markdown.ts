import MarkdownIt from 'markdown-it'
import DOMPurify from 'dompurify'

/**
 * Markdown for model output. The model's text is untrusted: markdown-it escapes raw HTML
 * (`html: false`) and drops `javascript:`-style links, and DOMPurify sanitizes the result again,
 * so nothing the model writes can run.
 */
const md = new MarkdownIt({ html: false, linkify: true, typographer: false })

// A remote image is a request the model chooses (and a way to leak the conversation in its
// URL), so images are not rendered: `![alt](url)` stays text.
md.disable('image')

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

/** Renders untrusted Markdown to sanitized HTML, safe for `v-html`. Works on partial text. */
export function renderMarkdown(source: string): string {
  return purifier.sanitize(md.render(source), {
    FORBID_TAGS: ['img', 'style', 'form', 'input', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
  })
}

/** Text of the code block that a copy button belongs to. */
export function codeForCopyButton(button: Element): string | null {
  return button.closest('.code-block')?.querySelector('pre')?.textContent ?? null
}
