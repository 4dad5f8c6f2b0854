import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ChatStatusBar from '../ChatStatusBar.vue'

describe('ChatStatusBar', () => {
  it('says which try a reconnection is at, and shows the answer-token limit', () => {
    const w = mount(ChatStatusBar, {
      props: { usage: { tokens: 12, remaining: 3988 }, maxTokens: 1024, reconnect: { attempt: 2, tries: 5 } },
    })

    expect(w.get('[data-testid="reconnecting"]').text()).toBe('Connection lost. Reconnecting… (try 2 of 5)')
    expect(w.get('[data-testid="usage"]').text()).toBe('12 tokens · 3,988 left in the context window · answer limit 1,024')
  })

  it('shows the tokens alone when what is left of the context window is unknown, and nothing without usage', () => {
    expect(mount(ChatStatusBar, { props: { usage: { tokens: 1234, remaining: null } } }).get('[data-testid="usage"]').text()).toBe(
      '1,234 tokens',
    )
    expect(mount(ChatStatusBar, { props: { usage: null } }).find('[data-testid="usage"]').exists()).toBe(false)
  })
})
