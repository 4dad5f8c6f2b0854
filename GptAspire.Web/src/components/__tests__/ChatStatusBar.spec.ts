import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ChatStatusBar from '../ChatStatusBar.vue'
import type { ChatTurn } from '@/composables/useConversation'

const failed = (error: NonNullable<ChatTurn['error']>): ChatTurn => ({
  id: 'a1',
  role: 'assistant',
  content: '',
  status: 'error',
  error,
})

describe('ChatStatusBar', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('counts down retryAfterSeconds, then enables Retry', async () => {
    const w = mount(ChatStatusBar, {
      props: {
        turn: failed({ code: 'rate_limited', message: 'Slow down.', retryAfterSeconds: 3, retryable: true }),
        completionTokens: null,
        remainingTokens: null,
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

  it('shows a filtered prompt as a warning without Retry', () => {
    const w = mount(ChatStatusBar, {
      props: {
        turn: failed({ code: 'content_filtered', message: 'The prompt was filtered.', retryable: false }),
        completionTokens: null,
        remainingTokens: null,
      },
    })

    expect(w.get('[data-testid="error-notice"]').text()).toContain('content filter')
    expect(w.find('[data-testid="retry-button"]').exists()).toBe(false)
  })

  it('says which try a reconnection is at, and shows the answer-token limit', () => {
    const w = mount(ChatStatusBar, {
      props: {
        turn: { id: 'a1', role: 'assistant', content: 'Half', status: 'streaming' },
        completionTokens: 12,
        remainingTokens: 3988,
        maxTokens: 1024,
        reconnect: { attempt: 2, tries: 5 },
      },
    })

    expect(w.get('[data-testid="reconnecting"]').text()).toBe('Connection lost. Reconnecting… (try 2 of 5)')
    expect(w.get('[data-testid="usage"]').text()).toBe('12 tokens · 3,988 left in the context window · answer limit 1,024')
    expect(w.find('[data-testid="error-notice"]').exists()).toBe(false)
  })

  it('shows the Retry-After of a busy server as a countdown too', async () => {
    const w = mount(ChatStatusBar, {
      props: {
        turn: failed({ code: 'server_busy', message: 'Too many answers at once.', status: 503, retryAfterSeconds: 2, retryable: true }),
        completionTokens: null,
        remainingTokens: null,
      },
    })

    expect(w.get('[data-testid="error-notice"]').text()).toContain('The service is busy. Too many answers at once.')
    expect(w.get('[data-testid="countdown"]').text()).toBe('2')
    await vi.advanceTimersByTimeAsync(2000)
    expect(w.get('[data-testid="retry-button"]').attributes('disabled')).toBeUndefined()
  })

  it('shows the stored usage after a reload', () => {
    const w = mount(ChatStatusBar, {
      props: {
        turn: {
          id: 'a1',
          role: 'assistant',
          content: 'x',
          status: 'done',
          usage: { promptTokens: 10, completionTokens: 1234, totalTokens: 1244, remainingTokens: 126756 },
        },
        completionTokens: null,
        remainingTokens: null,
      },
    })

    expect(w.get('[data-testid="usage"]').text()).toBe('1,234 tokens · 126,756 left in the context window')
  })
})
