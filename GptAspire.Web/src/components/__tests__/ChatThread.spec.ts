import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import ChatThread from '../ChatThread.vue'
import type { ChatTurn } from '@/composables/useConversation'

const messages: ChatTurn[] = [
  { id: 'u1', role: 'user', content: 'Question', status: 'done' },
  { id: 'a1', role: 'assistant', content: 'Answer', status: 'done' },
]

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

/** jsdom has no layout: the scroller's sizes are set by hand. */
function sized(el: HTMLElement, size: { scrollHeight: number; clientHeight: number }) {
  Object.defineProperty(el, 'scrollHeight', { configurable: true, get: () => size.scrollHeight })
  Object.defineProperty(el, 'clientHeight', { configurable: true, get: () => size.clientHeight })
  return size
}

describe('ChatThread', () => {
  it('stays on the latest message when a notice below makes it shorter: no Latest button', async () => {
    wrapper = mount(ChatThread, { attachTo: document.body, props: { messages } })
    const el = wrapper.get('.chat-thread').element as HTMLElement
    const size = sized(el, { scrollHeight: 1000, clientHeight: 400 })
    el.scrollTop = 600
    await wrapper.get('.chat-thread').trigger('scroll')

    // The footer grew by 120 px; the browser keeps the scroll position and tells of it.
    size.clientHeight = 280
    await wrapper.get('.chat-thread').trigger('scroll')

    expect(wrapper.find('[data-testid="scroll-to-bottom"]').exists()).toBe(false)
  })

  it('offers Latest when the reader scrolls up', async () => {
    wrapper = mount(ChatThread, { attachTo: document.body, props: { messages } })
    const el = wrapper.get('.chat-thread').element as HTMLElement
    sized(el, { scrollHeight: 1000, clientHeight: 400 })
    el.scrollTop = 600
    await wrapper.get('.chat-thread').trigger('scroll')

    el.scrollTop = 200
    await wrapper.get('.chat-thread').trigger('scroll')

    expect(wrapper.find('[data-testid="scroll-to-bottom"]').exists()).toBe(true)
  })
})
