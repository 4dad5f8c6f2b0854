import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { effectScope, type EffectScope } from 'vue'
import { useConversation } from '../useConversation'
import { answerParts, toolCallStatus } from '@/lib/answerParts'
import type { ChatTurn } from '@/lib/conversationStore'
import { answer, startFakeChatApi, startStep, toolCall, toolResult, until, type FakeChatApi, type Step } from '@/__tests__/fakeChatApi'

let api: FakeChatApi
const scopes: EffectScope[] = []

beforeAll(async () => {
  api = await startFakeChatApi()
})
afterAll(() => api.close())
beforeEach(() => localStorage.clear())
afterEach(() => {
  scopes.splice(0).forEach((scope) => scope.stop())
  api.reset()
})

/** One page load: the conversation in its own scope, stored in localStorage, as the page has it. */
function load() {
  const scope = effectScope()
  scopes.push(scope)
  return scope.run(() => useConversation({ id: 'c', reconnectDelaysMs: [20, 40, 80], fetch: api.fetch }))!
}

/** The page goes away (saving what it has); the generation goes on. */
function unload() {
  scopes.pop()?.stop()
}

const token = (text: string): Step => ({ event: 'token', data: { text } })
const ending = answer([]).slice(1)

/** The answer as the page shows it: text stretches and cards (name, callId, status), in order. */
function shown(turn: ChatTurn | undefined) {
  return answerParts(turn!).map((part) =>
    part.kind === 'text' ? part.text : `[${part.call.name} ${part.call.callId} ${toolCallStatus(part.call, turn!.status)}]`,
  )
}

describe('useConversation: tool calls', () => {
  it('shows each call where it happened, parallel ones side by side, each result in its own card, after a reload too', async () => {
    api.handle(() => ({
      steps: [
        startStep(),
        token('Let me check. '),
        toolCall('c1', 'get_current_time', { timeZone: 'Mars/Olympus' }),
        toolCall('c2', 'calculate', { expression: '(12.5+7)*3' }),
        // Results come as the tools end, not in the order of the calls.
        toolResult('c2', 'calculate', { result: { expression: '(12.5+7)*3', value: 58.5 } }, 4),
        toolResult('c1', 'get_current_time', { error: 'Unknown time zone.' }, 9),
        token('No such zone; '),
        token('58.5. '),
        toolCall('c3', 'calculate', { expression: '2*3' }),
        toolResult('c3', 'calculate', { result: { expression: '2*3', value: 6 } }),
        token('And 6.'),
        ...ending,
      ],
    }))
    const chat = load()

    const result = await chat.send('What time is it on Mars, and (12.5+7)*3?')

    expect(result?.status).toBe('done')
    const turn = chat.messages.value.at(-1)
    expect(shown(turn)).toEqual([
      'Let me check. ',
      '[get_current_time c1 error]',
      '[calculate c2 done]',
      'No such zone; 58.5. ',
      '[calculate c3 done]',
      'And 6.',
    ])
    expect(turn?.tools?.[0]).toMatchObject({ arguments: { timeZone: 'Mars/Olympus' }, error: 'Unknown time zone.', durationMs: 9 })
    expect(turn?.tools?.[1]).toMatchObject({ result: { expression: '(12.5+7)*3', value: 58.5 }, durationMs: 4 })

    unload()
    const reloaded = load()

    expect(reloaded.messages.value.at(-1)).toEqual(turn)
    expect(shown(reloaded.messages.value.at(-1))).toEqual(shown(turn))
  })

  it('sends the answer`s words back to the model, each stretch around a call its own paragraph', async () => {
    api.handle((_, index) => ({
      steps: index === 0 ? [startStep(), token('Checking.'), toolCall('c1', 'calculate'), toolResult('c1', 'calculate', { result: 1 }), token('It is 1.'), ...ending] : answer(['OK']),
    }))
    const chat = load()
    await chat.send('One?')

    await chat.send('Thanks')

    expect(api.posts()[1]?.body.messages.map((m) => m.content)).toEqual(['One?', 'Checking.\n\nIt is 1.', 'Thanks'])
  })

  it('keeps a running card across a reload; the resume fills it, from the event after the call, with no second card', async () => {
    api.handle(() => ({
      steps: [
        startStep(),
        token('Checking. '),
        toolCall('c1', 'get_current_time', { timeZone: 'Asia/Tokyo' }),
        { delay: 600 },
        toolResult('c1', 'get_current_time', { result: { timeZone: 'Asia/Tokyo', localTime: '2026-12-05T21:04:05+09:00', utcOffset: '+09:00' } }),
        token('It is 21:04.'),
        ...ending,
      ],
    }))
    const first = load()
    void first.send('Time in Tokyo?')
    await until(() => !!first.messages.value.at(-1)?.tools?.length, 2000, 'the tool call')
    unload()

    const chat = load()

    expect(shown(chat.messages.value.at(-1))).toEqual(['Checking. ', '[get_current_time c1 running]'])
    await until(() => chat.messages.value.at(-1)?.status === 'done', 3000, 'the resumed answer')
    expect(shown(chat.messages.value.at(-1))).toEqual(['Checking. ', '[get_current_time c1 done]', 'It is 21:04.'])
    expect(chat.messages.value.at(-1)?.tools?.[0]?.result).toMatchObject({ localTime: '2026-12-05T21:04:05+09:00' })
    expect(api.resumes().map((r) => r.headers['last-event-id'])).toEqual(['2'])
    expect(api.posts()).toHaveLength(1)
  })

  it('shows a call once when the server sends it again: a resume that replays the stream, or a call announced twice', async () => {
    const steps = [startStep(), token('A '), toolCall('c1', 'calculate'), toolCall('c1', 'calculate'), toolResult('c1', 'calculate', { result: 2 }), token('B'), ...ending]
    api.handle(() => ({ steps: [...steps.slice(0, 4), { disconnect: true }, { delay: 50 }, ...steps.slice(4)] }))
    // A server that ignores Last-Event-ID and sends the whole stream again.
    api.handleResume(() => ({
      headers: { 'content-type': 'text/event-stream' },
      body: steps.map((step, id) => ('event' in step ? `id: ${id}\nevent: ${step.event}\ndata: ${JSON.stringify(step.data)}\n\n` : '')).join(''),
    }))
    const chat = load()

    const result = await chat.send('Go')

    expect(result?.status).toBe('done')
    expect(api.resumes()).toHaveLength(1)
    expect(shown(chat.messages.value.at(-1))).toEqual(['A ', '[calculate c1 done]', 'B'])
  })

  it('shows a call as interrupted, not running, when the answer ends before its result: a failure or a stop', async () => {
    api.handle((_, index) => ({
      steps: [
        startStep({ requestId: `req-${index}` }),
        toolCall('c1', 'calculate', { expression: '1/0' }),
        ...(index === 0
          ? [{ event: 'error', data: { code: 'tool_rounds_exceeded', message: 'The model asked for tools too many times.' } }]
          : [{ delay: 5000 }]),
      ],
    }))
    const chat = load()

    const failed = await chat.send('Divide')

    expect(failed?.error?.code).toBe('tool_rounds_exceeded')
    expect(shown(chat.messages.value.at(-1))).toEqual(['[calculate c1 interrupted]'])

    void chat.retry()
    await until(() => !!chat.messages.value.at(-1)?.tools?.length, 2000, 'the tool call')
    expect(shown(chat.messages.value.at(-1))).toEqual(['[calculate c1 running]'])
    chat.stop()
    expect(shown(chat.messages.value.at(-1))).toEqual(['[calculate c1 interrupted]'])
  })

  it('counts the answer`s tokens live without the tool calls` events', async () => {
    api.handle(() => ({
      steps: [startStep({ promptTokens: 10, contextWindow: 110 }), token('A'), toolCall('c1', 'calculate'), toolResult('c1', 'calculate', { result: 1 }), token('B'), { delay: 2000 }, ...ending],
    }))
    const chat = load()
    void chat.send('Count')

    await until(() => chat.messages.value.at(-1)?.content === 'AB', 2000, 'both tokens')

    expect(chat.answerUsage.value).toEqual({ tokens: 2, remaining: 98 })
    chat.stop()
  })
})
