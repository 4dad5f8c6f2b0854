import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import ConversationList from '../ConversationList.vue'
import { DEFAULT_SETTINGS } from '@/lib/chatSettings'
import type { ConversationSummary } from '@/composables/useConversations'

const conversations: ConversationSummary[] = ['One', 'Two', 'Three'].map((title, i) => ({
  id: `c${i}`,
  customTitle: title,
  autoTitle: '',
  createdAt: i,
  settings: { ...DEFAULT_SETTINGS },
}))

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

function mountList() {
  wrapper = mount(ConversationList, {
    attachTo: document.body,
    props: { conversations, currentId: 'c0', streamingIds: new Set<string>() },
  })
  return wrapper
}

const focused = () => document.activeElement as HTMLElement | null
const press = async (key: string) => {
  focused()!.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }))
  await wrapper!.vm.$nextTick()
}

describe('ConversationList', () => {
  it('is one Tab stop per row: the row`s name; its Rename and Delete are not', () => {
    const w = mountList()
    const tabStops = w.findAll('button').filter((b) => b.element.tabIndex >= 0)

    expect(tabStops.map((b) => b.attributes('data-testid'))).toEqual(Array(3).fill('conversation-select'))
    expect(w.findAll<HTMLButtonElement>('[data-testid="rename-conversation"]').every((b) => b.element.tabIndex === -1)).toBe(true)
  })

  it('reaches a row`s buttons with the arrow keys and the next row with Down', async () => {
    const w = mountList()
    w.findAll<HTMLButtonElement>('[data-testid="conversation-select"]')[0]!.element.focus()

    await press('ArrowRight')
    expect(focused()?.dataset.testid).toBe('rename-conversation')
    await press('ArrowRight')
    expect(focused()?.dataset.testid).toBe('delete-conversation')
    await press('ArrowLeft')
    await press('ArrowLeft')
    expect(focused()?.id).toBe('conversation-c0')
    await press('ArrowDown')
    expect(focused()?.id).toBe('conversation-c1')
    await press('ArrowUp')
    expect(focused()?.id).toBe('conversation-c0')
  })

  it('renames with F2 and asks to delete with the Delete key', async () => {
    const w = mountList()
    w.findAll<HTMLButtonElement>('[data-testid="conversation-select"]')[1]!.element.focus()

    await press('Delete')
    await w.vm.$nextTick()
    expect(focused()?.id).toBe('confirm-delete-c1')

    w.findAll<HTMLButtonElement>('[data-testid="conversation-select"]')[0]!.element.focus()
    await press('F2')
    await w.vm.$nextTick()
    expect(focused()?.dataset.testid).toBe('rename-input')
  })
})
