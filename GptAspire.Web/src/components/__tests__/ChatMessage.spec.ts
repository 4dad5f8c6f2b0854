import { afterEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { mount } from '@vue/test-utils'
import ChatMessage from '../ChatMessage.vue'
import type { ChatToolCall, ChatTurn } from '@/composables/useConversation'

const assistant = (content: string, status: ChatTurn['status'] = 'done'): ChatTurn => ({
  id: 'a1',
  role: 'assistant',
  content,
  status,
})

describe('ChatMessage', () => {
  it('says how the answer is going in words, and nothing for a plain finished one', () => {
    const outcome = (turn: ChatTurn) => mount(ChatMessage, { props: { turn } }).find('[data-testid="message-outcome"]')

    expect(outcome(assistant('Partial', 'streaming')).text()).toBe('Writing…')
    expect(outcome(assistant('Whole')).exists()).toBe(false)
    expect(
      outcome({ ...assistant('Whole'), usage: { promptTokens: 10, completionTokens: 182, totalTokens: 192, remainingTokens: 500 } }).text(),
    ).toBe('Done · 182 tokens')
    expect(outcome(assistant('Part', 'stopped')).text()).toBe('Stopped')
    expect(
      outcome({ ...assistant('', 'error'), error: { code: 'connection_lost', message: 'Gone.', retryable: true } }).text(),
    ).toBe('Failed: Connection lost')
  })

  it('renders assistant Markdown, with partial text while streaming', () => {
    const w = mount(ChatMessage, { props: { turn: assistant('## Plan\n\n- one\n- **two', 'streaming') } })

    expect(w.find('h2').text()).toBe('Plan')
    expect(w.findAll('li')).toHaveLength(2)
    expect(w.get('[data-testid="message-assistant"]').attributes('data-status')).toBe('streaming')
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

  describe('tool calls', () => {
    const call = (callId: string, at: number, outcome: Partial<ChatToolCall> = {}): ChatToolCall => ({
      callId,
      name: 'calculate',
      arguments: { expression: '2*3' },
      at,
      ...outcome,
    })
    /** The answer in order: a paragraph's text, or a card as `[callId status]`. */
    const order = (w: ReturnType<typeof mount>) =>
      [...w.get('.markdown').element.querySelectorAll('.markdown__block > p, [data-tool-call]')].map((el) =>
        el instanceof HTMLDetailsElement ? `[${el.dataset.toolCall} ${el.dataset.toolStatus}]` : el.textContent,
      )

    it('shows each call as a card where it happened, between the text before and after it', () => {
      const turn = {
        ...assistant('Let me check.It is **6**.'),
        tools: [call('c1', 13, { result: { value: 6 }, durationMs: 3 }), call('c2', 13, { error: 'Bad.', durationMs: 1 })],
      }
      const w = mount(ChatMessage, { props: { turn } })

      expect(order(w)).toEqual(['Let me check.', '[c1 done]', '[c2 error]', 'It is 6.'])
      expect(w.find('strong').text()).toBe('6')
    })

    it('shows a running call at once, not the wait for the first token, and a later card on the next frame', async () => {
      const turn = { ...assistant('', 'streaming'), tools: [call('c1', 0)] }
      const w = mount(ChatMessage, { props: { turn } })

      expect(w.find('[data-testid="first-token-wait"]').exists()).toBe(false)
      expect(order(w)).toEqual(['[c1 running]'])

      await w.setProps({ turn: { ...turn, content: 'Six.', tools: [call('c1', 0, { result: 6, durationMs: 2 })] } })
      await new Promise((resolve) => requestAnimationFrame(resolve))
      expect(order(w)).toEqual(['[c1 done]', 'Six.'])
    })

    it('shows a call as interrupted once the answer ended without its result', async () => {
      const w = mount(ChatMessage, { props: { turn: { ...assistant('Checking.', 'streaming'), tools: [call('c1', 9)] } } })
      expect(order(w)).toEqual(['Checking.', '[c1 running]'])

      await w.setProps({ turn: { ...assistant('Checking.', 'stopped'), tools: [call('c1', 9)] } })

      expect(order(w)).toEqual(['Checking.', '[c1 interrupted]'])
    })

    it('copies the answer`s words, each stretch around a call its own paragraph', async () => {
      const writeText = vi.fn(() => Promise.resolve())
      Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
      const w = mount(ChatMessage, { props: { turn: { ...assistant('Let me check.It is 6.'), tools: [call('c1', 13, { result: 6, durationMs: 1 })] } } })

      await w.get('[data-testid="copy-answer-button"]').trigger('click')

      expect(writeText).toHaveBeenCalledWith('Let me check.\n\nIt is 6.')
    })
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

  describe('the outcome it keeps, whatever follows it', () => {
    afterEach(() => vi.useRealTimers())

    const failed = (error: NonNullable<ChatTurn['error']>): ChatTurn => ({ ...assistant('', 'error'), error })

    it('counts down to the moment a retry may start, then enables Retry', async () => {
      vi.useFakeTimers()
      const w = mount(ChatMessage, {
        props: {
          turn: failed({ code: 'rate_limited', message: 'Slow down.', retryAfterSeconds: 3, retryAt: Date.now() + 3000, retryable: true }),
          retriable: true,
        },
      })

      expect(w.get('[data-testid="countdown"]').text()).toBe('3')
      expect(w.get('[data-testid="retry-button"]').attributes('disabled')).toBeDefined()
      await vi.advanceTimersByTimeAsync(1000)
      expect(w.get('[data-testid="countdown"]').text()).toBe('2')
      await vi.advanceTimersByTimeAsync(2000)
      expect(w.find('[data-testid="countdown"]').exists()).toBe(false)
      expect(w.get('[data-testid="retry-button"]').attributes('disabled')).toBeUndefined()

      await w.get('[data-testid="retry-button"]').trigger('click')
      expect(w.emitted('retry')).toHaveLength(1)
    })

    it('shows one wait, counting down, and no stale "Try again in N s" after it', async () => {
      vi.useFakeTimers()
      const w = mount(ChatMessage, {
        props: {
          turn: failed({
            code: 'rate_limited',
            message: 'The AI service is busy (rate limit reached). Try again in 5 s.',
            retryAfterSeconds: 5,
            retryAt: Date.now() + 5000,
            retryable: true,
          }),
          retriable: true,
        },
      })
      const notice = () => w.get('[data-testid="error-notice"]').text()

      expect(notice().match(/\d+ s/g)).toEqual(['5 s'])
      expect(notice()).toContain('Try again in 5 s.')
      await vi.advanceTimersByTimeAsync(2000)
      expect(notice().match(/\d+ s/g)).toEqual(['3 s'])
      await vi.advanceTimersByTimeAsync(3000)
      expect(notice()).not.toMatch(/try again in/i)
      expect(notice()).toContain('The AI service is busy (rate limit reached).')
    })

    it('reopened after the wait has passed, starts no countdown', () => {
      const turn = failed({
        code: 'rate_limited',
        message: 'Please try again in 20s.',
        retryAfterSeconds: 20,
        retryAt: Date.now() - 3 * 60_000,
        retryable: true,
      })
      const w = mount(ChatMessage, { props: { turn, retriable: true } })

      expect(w.find('[data-testid="countdown"]').exists()).toBe(false)
      expect(w.get('[data-testid="error-notice"]').text()).not.toMatch(/try again in/i)
      expect(w.get('[data-testid="retry-button"]').attributes('disabled')).toBeUndefined()
    })

    it('shown again later, goes on from the seconds really left (another chat, a reload)', async () => {
      vi.useFakeTimers()
      const turn = failed({ code: 'server_busy', message: 'Busy.', retryAfterSeconds: 10, retryAt: Date.now() + 10_000, retryable: true })
      mount(ChatMessage, { props: { turn, retriable: true } }).unmount()
      await vi.advanceTimersByTimeAsync(6000)

      const again = mount(ChatMessage, { props: { turn, retriable: true } })

      expect(again.get('[data-testid="countdown"]').text()).toBe('4')
      expect(again.get('[data-testid="error-notice"]').text()).toContain('The service is busy. Busy.')
    })

    it('keeps a failure and a content filter stop on an answer that is no longer the last, without Retry', () => {
      const old = mount(ChatMessage, {
        props: { turn: failed({ code: 'upstream_error', message: 'It broke.', retryable: true }), retriable: false },
      })
      expect(old.get('[data-testid="error-notice"]').text()).toContain('It broke.')
      expect(old.find('[data-testid="retry-button"]').exists()).toBe(false)

      const filtered = mount(ChatMessage, { props: { turn: { ...assistant('Some text'), finishReason: 'content_filter' } } })
      expect(filtered.get('[data-testid="finish-notice"]').text()).toBe('The answer was stopped by the content filter.')
    })

    it('names a failure from too many tool rounds, with the server`s words and Retry', () => {
      const w = mount(ChatMessage, {
        props: {
          turn: failed({ code: 'tool_rounds_exceeded', message: 'The model asked for tools too many times.', retryable: true }),
          retriable: true,
        },
      })

      expect(w.get('[data-testid="message-outcome"]').text()).toBe('Failed: Too many tool calls')
      expect(w.get('[data-testid="error-notice"]').text()).toContain('Too many tool calls. The model asked for tools too many times.')
      expect(w.find('[data-testid="retry-button"]').exists()).toBe(true)
    })

    it('shows a filtered prompt without Retry', () => {
      const w = mount(ChatMessage, {
        props: { turn: failed({ code: 'content_filtered', message: 'The prompt was filtered.', retryable: false }), retriable: true },
      })

      expect(w.get('[data-testid="error-notice"]').text()).toContain('content filter')
      expect(w.find('[data-testid="retry-button"]').exists()).toBe(false)
    })
  })
})
