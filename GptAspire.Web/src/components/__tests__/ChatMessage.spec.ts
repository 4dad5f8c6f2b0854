import { describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import { mount } from '@vue/test-utils'
import ChatMessage from '../ChatMessage.vue'
import type { ChatTurn } from '@/composables/useConversation'

const assistant = (content: string, status: ChatTurn['status'] = 'done'): ChatTurn => ({
  id: 'a1',
  role: 'assistant',
  content,
  status,
})

describe('ChatMessage', () => {
  it('renders assistant Markdown, with partial text while streaming', () => {
    const w = mount(ChatMessage, { props: { turn: assistant('## Plan\n\n- one\n- **two', 'streaming') } })

    expect(w.find('h2').text()).toBe('Plan')
    expect(w.findAll('li')).toHaveLength(2)
    expect(w.get('[data-testid="message-status"]').text()).toBe('streaming')
    expect(w.get('.markdown').attributes()).toMatchObject({ 'aria-live': 'polite', 'aria-busy': 'true' })
  })

  it('shows user text as text, never as HTML or Markdown', () => {
    const w = mount(ChatMessage, {
      props: { turn: { id: 'u1', role: 'user', content: '<b>hi</b> **there**', status: 'done' } },
    })

    expect(w.find('b').exists()).toBe(false)
    expect(w.get('[data-testid="message-user"]').text()).toBe('<b>hi</b> **there**')
  })

  it('sanitizes hostile HTML and links', () => {
    const w = mount(ChatMessage, {
      props: {
        turn: assistant(
          '<img src=x onerror=alert(1)> <script>alert(2)</script>\n\n' +
            '[a](javascript:alert(3)) [b](JAVASCRIPT:alert(4)) [c](data:text/html;base64,PHNjcmlwdD4=) ' +
            '[ok](https://example.com/docs)',
        ),
      },
    })

    const html = w.get('.markdown').element
    expect(html.querySelector('img, script')).toBeNull()
    const hrefs = [...html.querySelectorAll('a')].map((a) => a.getAttribute('href'))
    expect(hrefs).toEqual(['https://example.com/docs'])
    expect(html.querySelector('a')?.getAttribute('rel')).toContain('noopener')
  })

  it('keeps code formatting and adds a Copy button to each code block', () => {
    const w = mount(ChatMessage, {
      props: { turn: assistant('```py\ndef f():\n    return 1\n```\n\n    indented block\n') },
    })

    expect(w.findAll('[data-testid="copy-button"]')).toHaveLength(2)
    expect(w.findAll('pre')[0]?.text()).toBe('def f():\n    return 1')
    expect(w.find('pre code.language-py').exists()).toBe(true)
  })

  it('offers Edit only when asked to, and emits it', async () => {
    const turn: ChatTurn = { id: 'u1', role: 'user', content: 'Hi', status: 'done' }
    expect(mount(ChatMessage, { props: { turn } }).find('[data-testid="edit-button"]').exists()).toBe(false)

    const w = mount(ChatMessage, { props: { turn, editable: true } })
    await w.get('[data-testid="edit-button"]').trigger('click')

    expect(w.emitted('edit')).toHaveLength(1)
  })
  it('renders a streaming answer on the next animation frame, once for all the tokens of that frame', async () => {
    const w = mount(ChatMessage, { props: { turn: assistant('First', 'streaming') } })
    const answer = () => w.get('.markdown')
    expect(answer().text()).toBe('First')

    await w.setProps({ turn: assistant('First words', 'streaming') })
    await w.setProps({ turn: assistant('First words, more', 'streaming') })
    expect(answer().text()).toBe('First')
    expect(answer().attributes('data-rendered-length')).toBe('5')

    await new Promise((resolve) => requestAnimationFrame(resolve))
    await nextTick()
    expect(answer().text()).toBe('First words, more')
    expect(answer().attributes('data-rendered-length')).toBe('17')

    // The end shows at once.
    await w.setProps({ turn: assistant('First words, more. Done.', 'done') })
    expect(answer().text()).toBe('First words, more. Done.')
  })

  it('offers Copy answer once the answer ended, and Regenerate when asked to', async () => {
    const streaming = mount(ChatMessage, { props: { turn: assistant('Part', 'streaming'), regenerable: true } })
    expect(streaming.find('[data-testid="copy-answer-button"]').exists()).toBe(false)

    const done = mount(ChatMessage, { props: { turn: assistant('Whole') } })
    expect(done.find('[data-testid="copy-answer-button"]').exists()).toBe(true)
    expect(done.find('[data-testid="regenerate-button"]').exists()).toBe(false)

    const last = mount(ChatMessage, { props: { turn: assistant('Whole', 'stopped'), regenerable: true } })
    await last.get('[data-testid="regenerate-button"]').trigger('click')
    expect(last.emitted('regenerate')).toHaveLength(1)
  })
})
