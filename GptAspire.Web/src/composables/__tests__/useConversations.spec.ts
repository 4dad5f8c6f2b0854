import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { effectScope, type EffectScope } from 'vue'
import { conversationTitle, useConversations, type UseConversationsOptions } from '../useConversations'
import { answer, startFakeChatApi, startStep, until, type FakeChatApi } from '@/__tests__/fakeChatApi'

const LIST_KEY = 'gptaspire.conversations'

let api: FakeChatApi
const scopes: EffectScope[] = []

beforeAll(async () => {
  api = await startFakeChatApi()
})
afterAll(() => api.close())
beforeEach(() => {
  localStorage.clear()
  api.requests.length = 0
  api.handle((req) => ({ steps: answer([`Answer to ${req.body.messages.at(-1)?.content}`]) }))
})
afterEach(() => {
  scopes.splice(0).forEach((scope) => scope.stop())
})

/** One page load: the composable in its own scope, as a component would have it. */
function load(options: UseConversationsOptions = {}) {
  const scope = effectScope()
  scopes.push(scope)
  return scope.run(() => useConversations({ fetch: api.fetch, ...options }))!
}

/** A page load ends: its scope goes away (saving what it has), as on a reload. */
function unload() {
  scopes.pop()?.stop()
}

async function ask(chats: ReturnType<typeof load>, text: string) {
  const result = await chats.current.value.send(text)
  expect(result?.status).toBe('done')
}

const titles = (chats: ReturnType<typeof load>) => chats.conversations.value.map(conversationTitle)

describe('useConversations', () => {
  it('starts with one empty conversation, named after its first question once asked', async () => {
    const chats = load()

    expect(titles(chats)).toEqual(['New chat'])
    await ask(chats, 'How do   server-sent\nevents work?')

    expect(titles(chats)).toEqual(['How do server-sent events work?'])
    expect(chats.current.value.messages.value.map((m) => m.content)).toEqual([
      'How do   server-sent\nevents work?',
      'Answer to How do   server-sent\nevents work?',
    ])
  })

  it('counts the answer`s tokens live from its events, then takes usage as exact', async () => {
    api.handle(() => ({
      steps: [
        startStep({ promptTokens: 10, contextWindow: 110 }),
        { event: 'token', data: { text: 'a' } },
        { event: 'token', data: { text: 'b' } },
        { delay: 400 },
        { event: 'usage', data: { promptTokens: 10, completionTokens: 3, totalTokens: 13, remainingTokens: 97 } },
        { event: 'finish', data: { reason: 'stop' } },
      ],
    }))
    const chats = load()

    const sending = chats.current.value.send('Hi')
    await until(() => chats.current.value.answerUsage.value?.tokens === 2, 2000, 'two tokens')
    expect(chats.current.value.answerUsage.value).toEqual({ tokens: 2, remaining: 98 })
    await sending

    expect(chats.current.value.answerUsage.value).toEqual({ tokens: 3, remaining: 97 })
  })

  it('shortens a long first question to a title', async () => {
    const chats = load()

    await ask(chats, 'word '.repeat(40))

    const [title] = titles(chats)
    expect(title?.length).toBe(60)
    expect(title?.endsWith('…')).toBe(true)
  })

  it('keeps several conversations, each with its own messages, and the current one across a reload', async () => {
    const chats = load()
    await ask(chats, 'First')
    chats.create()
    await ask(chats, 'Second')
    const secondId = chats.currentId.value

    expect(titles(chats)).toEqual(['Second', 'First'])
    chats.select(chats.conversations.value[1]!.id)
    expect(chats.current.value.messages.value[0]?.content).toBe('First')
    chats.select(secondId)
    unload()

    const reloaded = load()
    expect(titles(reloaded)).toEqual(['Second', 'First'])
    expect(reloaded.currentId.value).toBe(secondId)
    expect(reloaded.current.value.messages.value.map((m) => m.content)).toEqual(['Second', 'Answer to Second'])
    reloaded.select(reloaded.conversations.value[1]!.id)
    expect(reloaded.current.value.messages.value.map((m) => m.content)).toEqual(['First', 'Answer to First'])
    // Each conversation was asked with its own history only.
    expect(api.posts().map((r) => r.body.messages.map((m) => m.content))).toEqual([['First'], ['Second']])
  })

  it('reuses an empty conversation instead of making another', () => {
    const chats = load()
    const id = chats.currentId.value

    chats.create()
    chats.create()

    expect(chats.conversations.value).toHaveLength(1)
    expect(chats.currentId.value).toBe(id)
  })

  it('renames a conversation; a blank name goes back to the first question', async () => {
    const chats = load()
    await ask(chats, 'Original question')
    const id = chats.currentId.value

    chats.rename(id, '  Release plan  ')
    expect(titles(chats)).toEqual(['Release plan'])
    unload()

    const reloaded = load()
    expect(titles(reloaded)).toEqual(['Release plan'])
    reloaded.rename(id, '   ')
    expect(titles(reloaded)).toEqual(['Original question'])
  })

  it('deletes a conversation with its stored messages and shows the next one', async () => {
    const chats = load()
    await ask(chats, 'Keep me')
    chats.create()
    await ask(chats, 'Delete me')
    const doomed = chats.currentId.value
    expect(localStorage.getItem(`${LIST_KEY}.${doomed}`)).toContain('Delete me')

    chats.remove(doomed)

    expect(titles(chats)).toEqual(['Keep me'])
    expect(chats.current.value.messages.value[0]?.content).toBe('Keep me')
    expect(localStorage.getItem(`${LIST_KEY}.${doomed}`)).toBeNull()
    expect(localStorage.getItem(LIST_KEY)).not.toContain(doomed)
  })

  it('deleting the last conversation leaves a new empty one', async () => {
    const chats = load()
    await ask(chats, 'Only one')

    chats.remove(chats.currentId.value)

    expect(titles(chats)).toEqual(['New chat'])
    expect(chats.current.value.messages.value).toEqual([])
  })

  it('deleting a conversation stops its answer', async () => {
    api.handle(() => ({ steps: answer(['Never', ' ends']).slice(0, 2), end: 'hang' }))
    const chats = load()
    void chats.current.value.send('Hang on')
    await until(() => api.posts().length === 1, 2000, 'request')

    chats.remove(chats.currentId.value)

    await api.posts()[0]!.closed
    expect(api.posts()[0]!.aborted).toBe(true)
  })

  it('sends the settings with each request: system prompt first, temperature, answer length', async () => {
    const chats = load()
    chats.updateSettings(chats.currentId.value, { systemPrompt: '  Be brief.  ', temperature: 0.3, maxTokens: 200 })

    await ask(chats, 'Hi')

    expect(api.posts()[0]?.body).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0.3,
      maxTokens: 200,
    })
    // The system prompt is sent, not shown as a message of the conversation.
    expect(chats.current.value.messages.value.map((m) => m.role)).toEqual(['user', 'assistant'])
  })

  it('keeps each conversation`s settings with it; a new chat starts with the current ones', async () => {
    const chats = load()
    const first = chats.currentId.value
    chats.updateSettings(first, { temperature: 1.5 })
    await ask(chats, 'One')
    chats.create()
    const second = chats.currentId.value
    chats.updateSettings(second, { temperature: null, systemPrompt: 'Pirate.' })
    unload()

    const reloaded = load()
    expect(reloaded.conversations.value.find((c) => c.id === first)?.settings).toEqual({
      systemPrompt: '',
      temperature: 1.5,
      maxTokens: null,
    })
    expect(reloaded.currentSummary.value.settings).toEqual({ systemPrompt: 'Pirate.', temperature: null, maxTokens: null })
    await ask(reloaded, 'Two')
    expect(api.posts().at(-1)?.body).toEqual({
      messages: [
        { role: 'system', content: 'Pirate.' },
        { role: 'user', content: 'Two' },
      ],
    })
  })

  it('ignores settings no API would take (the panel checks the server`s own limits)', () => {
    const chats = load()

    chats.updateSettings(chats.currentId.value, { temperature: -1, maxTokens: 0.5 })

    expect(chats.currentSummary.value.settings).toEqual({ systemPrompt: '', temperature: null, maxTokens: null })
  })

  it('an answer keeps streaming into its own conversation while another is on screen', async () => {
    api.handle(() => ({ steps: answer(['Slow', ' and', ' steady'], { delayMs: 150 }) }))
    const chats = load()
    const pending = chats.current.value.send('Take your time')
    const busyId = chats.currentId.value
    await until(() => chats.streamingIds.value.has(busyId), 2000, 'streaming')

    chats.create()
    expect(chats.current.value.messages.value).toEqual([])

    expect((await pending)?.status).toBe('done')
    expect(chats.streamingIds.value.size).toBe(0)
    chats.select(busyId)
    expect(chats.current.value.messages.value.at(-1)?.content).toBe('Slow and steady')
  })

  it('takes over the single conversation a page stored before it had a list', () => {
    const legacy = {
      version: 1,
      messages: [
        { id: 'u', role: 'user', content: 'From before', status: 'done' },
        { id: 'a', role: 'assistant', content: 'Old answer', status: 'done' },
      ],
    }
    localStorage.setItem('gptaspire.conversation', JSON.stringify(legacy))

    const chats = load()

    expect(titles(chats)).toEqual(['From before'])
    expect(chats.current.value.messages.value.map((m) => m.content)).toEqual(['From before', 'Old answer'])
    expect(localStorage.getItem('gptaspire.conversation')).toBeNull()
  })

  it('works without storage, and survives a corrupt list', () => {
    localStorage.setItem(LIST_KEY, '{not json')
    expect(titles(load())).toEqual(['New chat'])

    const memoryOnly = load({ storage: null })
    memoryOnly.updateSettings(memoryOnly.currentId.value, { maxTokens: 10 })
    expect(memoryOnly.currentSummary.value.settings.maxTokens).toBe(10)
  })
  it('resumes, at once, an answer that was streaming in a conversation not on screen', async () => {
    const chats = load()
    await ask(chats, 'On screen later')
    const background = chats.currentId.value
    chats.create()
    await ask(chats, 'On screen now')
    const streaming = {
      version: 1,
      messages: [
        { id: 'u', role: 'user', content: 'Long one', status: 'done' },
        { id: 'a', role: 'assistant', content: 'Half', status: 'streaming', requestId: 'req-bg', lastEventId: 3 },
      ],
    }
    unload()
    localStorage.setItem(`${LIST_KEY}.${background}`, JSON.stringify(streaming))

    const reloaded = load()

    expect(reloaded.currentId.value).not.toBe(background)
    await until(() => api.resumes().length === 1, 2000, 'resume')
    expect(api.resumes()[0]?.url).toBe('/api/chat/stream/req-bg')
    expect(api.resumes()[0]?.headers['last-event-id']).toBe('3')
  })
})
