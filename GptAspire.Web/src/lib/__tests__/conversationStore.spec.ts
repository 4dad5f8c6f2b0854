import { beforeEach, describe, expect, it } from 'vitest'
import { createConversationStore, newId, unfinishedAnswer, LEGACY_STORAGE_KEY } from '../conversationStore'

const LIST_KEY = 'gptaspire.conversations'

// Exactly what the page wrote before the store existed (list, each conversation's messages, and the
// single conversation of the page before the list): a page that updates must lose none of it.
const todayList = {
  version: 1,
  currentId: 'c2',
  conversations: [
    { id: 'c2', customTitle: '', autoTitle: 'Second', createdAt: 2, settings: { systemPrompt: 'Be brief.', temperature: 0.3, maxTokens: 200 } },
    { id: 'c1', customTitle: 'Mine', autoTitle: 'First', createdAt: 1, settings: { systemPrompt: '', temperature: null, maxTokens: null } },
  ],
}
const todayTurns = {
  version: 1,
  messages: [
    { id: 'u1', role: 'user', content: 'First', status: 'done' },
    { id: 'a1', role: 'assistant', content: 'Cut', status: 'streaming', requestId: 'r-old', lastEventId: 4 },
    { id: 'u2', role: 'user', content: 'Again', status: 'done' },
    {
      id: 'a2',
      role: 'assistant',
      content: '',
      status: 'error',
      error: { code: 'rate_limited', message: 'Slow down.', status: 429, retryAfterSeconds: 2, retryable: true },
    },
    { id: 'u3', role: 'user', content: 'Third', status: 'done' },
    { id: 'a3', role: 'assistant', content: 'Half', status: 'streaming', requestId: 'r-live', lastEventId: 7, maxTokens: 500 },
  ],
}

describe('conversationStore', () => {
  beforeEach(() => localStorage.clear())

  it('reads today`s stored conversations whole: the list, the current one, settings and every turn', () => {
    localStorage.setItem(LIST_KEY, JSON.stringify(todayList))
    localStorage.setItem(`${LIST_KEY}.c2`, JSON.stringify(todayTurns))
    const store = createConversationStore()

    const list = store.loadList()
    const turns = store.loadTurns('c2')

    expect(list).toEqual({ conversations: todayList.conversations, currentId: 'c2' })
    expect(turns.map((t) => [t.id, t.content, t.status])).toEqual([
      ['u1', 'First', 'done'],
      // Only the last answer can still be running on the server: an earlier one stopped with the page.
      ['a1', 'Cut', 'stopped'],
      ['u2', 'Again', 'done'],
      ['a2', '', 'error'],
      ['u3', 'Third', 'done'],
      ['a3', 'Half', 'streaming'],
    ])
    expect(turns[3]?.error).toEqual(todayTurns.messages[3]!.error)
    expect(unfinishedAnswer(turns)).toMatchObject({ id: 'a3', requestId: 'r-live', lastEventId: 7 })
  })

  it('writes what it read back in the same shape, so an older tab still reads it', () => {
    localStorage.setItem(LIST_KEY, JSON.stringify(todayList))
    localStorage.setItem(`${LIST_KEY}.c1`, JSON.stringify(todayTurns))
    const store = createConversationStore()

    store.saveList(store.loadList())
    store.saveTurns('c1', store.loadTurns('c1'))

    expect(JSON.parse(localStorage.getItem(LIST_KEY)!)).toEqual(todayList)
    const saved = JSON.parse(localStorage.getItem(`${LIST_KEY}.c1`)!) as typeof todayTurns
    expect(saved.version).toBe(1)
    expect(saved.messages.map((m) => m.content)).toEqual(todayTurns.messages.map((m) => m.content))
  })

  it('reads answers stored before tool calls exactly as they were, with no cards', () => {
    localStorage.setItem(`${LIST_KEY}.c1`, JSON.stringify(todayTurns))
    const store = createConversationStore()

    const turns = store.loadTurns('c1')

    // The earlier streaming answer stops with the page (as always); every other turn is as stored.
    expect(turns).toEqual(todayTurns.messages.map((m) => (m.id === 'a1' ? { ...m, status: 'stopped' } : m)))
    expect(turns.some((t) => 'tools' in t)).toBe(false)
  })

  it('keeps an answer`s tool calls; one it cannot read costs its card, never the answer', () => {
    const call = { callId: 'c1', name: 'calculate', arguments: { expression: '2*3' }, at: 4, result: { value: 6 }, durationMs: 3 }
    const broken = { callId: 'c2', name: 'calculate', arguments: '2*3', at: 4 }
    const stored = { id: 'a', role: 'assistant', content: 'Six: 6', status: 'done', tools: [call, broken] }
    localStorage.setItem(`${LIST_KEY}.c1`, JSON.stringify({ version: 1, messages: [stored] }))
    const store = createConversationStore()

    const [turn] = store.loadTurns('c1')

    expect(turn).toEqual({ ...stored, tools: [call] })
  })

  it('takes over the single conversation of a page from before the list', () => {
    localStorage.setItem(LEGACY_STORAGE_KEY, JSON.stringify(todayTurns))
    const store = createConversationStore()

    const list = store.loadList()

    expect(list.conversations).toHaveLength(1)
    expect(list.currentId).toBe(list.conversations[0]!.id)
    expect(store.loadTurns(list.currentId).map((t) => t.content)).toEqual(todayTurns.messages.map((m) => m.content))
    expect(localStorage.getItem(LEGACY_STORAGE_KEY)).toBeNull()
  })

  it('sets aside what it cannot read (corrupt, or written by a newer page) instead of overwriting it', () => {
    localStorage.setItem(LIST_KEY, '{not json')
    localStorage.setItem(`${LIST_KEY}.x`, JSON.stringify({ version: 99, messages: [] }))
    const store = createConversationStore()

    const list = store.loadList()
    store.saveList(list)

    expect(list.conversations).toHaveLength(1)
    expect(store.loadTurns('x')).toEqual([])
    expect(localStorage.getItem(`${LIST_KEY}.unreadable`)).toBe('{not json')
    expect(JSON.parse(localStorage.getItem(`${LIST_KEY}.x.unreadable`)!)).toEqual({ version: 99, messages: [] })
  })

  it('removes a conversation`s key when it has no turns, and works in memory without storage', () => {
    const store = createConversationStore()
    store.saveTurns('c', [{ id: 'u', role: 'user', content: 'Hi', status: 'done' }])
    expect(localStorage.getItem(`${LIST_KEY}.c`)).not.toBeNull()
    store.saveTurns('c', [])
    expect(localStorage.getItem(`${LIST_KEY}.c`)).toBeNull()

    const memory = createConversationStore({ storage: null })
    expect(memory.loadList().conversations).toHaveLength(1)
    memory.saveTurns('c', [{ id: 'u', role: 'user', content: 'Hi', status: 'done' }])
    expect(localStorage.length).toBe(0)
  })

  it('makes a new id each time', () => {
    const ids = new Set(Array.from({ length: 100 }, newId))
    expect(ids.size).toBe(100)
  })
})
