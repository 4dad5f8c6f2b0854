import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { effectScope, watch } from 'vue'
import { useChatStream, type ChatStreamEvent, type UseChatStreamOptions } from '../useChatStream'
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

let api: FakeChatApi
beforeAll(async () => {
  api = await startFakeChatApi()
})
afterAll(() => api.close())
afterEach(() => api.reset())

const request = { messages: [{ role: 'user' as const, content: 'Hi' }] }

/** Fast tries, so that giving up takes well under a second. */
const reconnectDelaysMs = [20, 40, 80]

function setup(options: UseChatStreamOptions = {}) {
  const scope = effectScope()
  // The answer's text lives with whoever owns it; here, a string built from the events.
  const answerText = { value: '' }
  const events: ChatStreamEvent[] = []
  const chat = scope.run(() =>
    useChatStream({
      fetch: api.fetch,
      reconnectDelaysMs,
      ...options,
      onEvent(event) {
        events.push(event)
        if (event.name === 'token') answerText.value += event.data.text
        options.onEvent?.(event)
      },
    }),
  )!
  return { chat, scope, text: answerText, events }
}

/** start, then each piece as a token, with the connection cut after `cutAfter` tokens. */
function cutAnswer(pieces: string[], cutAfter: number, gapMs = 50): Step[] {
  const full = answer(pieces)
  return [...full.slice(0, 1 + cutAfter), { disconnect: true }, { delay: gapMs }, ...full.slice(1 + cutAfter)]
}

describe('useChatStream (over the chat transport)', () => {
  it('passes tool calls and their results on, typed and in order, between the tokens', async () => {
    api.handle(() => ({
      steps: [
        startStep(),
        { event: 'token', data: { text: 'Let me check.' } },
        toolCall('c1', 'get_current_time', { timeZone: 'Asia/Tokyo' }),
        toolCall('c2', 'calculate', { expression: '(12.5+7)*3' }),
        toolResult('c2', 'calculate', { result: { expression: '(12.5+7)*3', value: 58.5 } }, 3),
        toolResult('c1', 'get_current_time', { error: 'Unknown time zone.' }, 7),
        // One the page cannot read (no callId) is skipped, not passed on half-made.
        { event: 'tool_call', data: { name: 'calculate', arguments: null } },
        { event: 'token', data: { text: 'It is 58.5.' } },
        { event: 'usage', data: { promptTokens: 20, completionTokens: 2, totalTokens: 22, remainingTokens: 4074 } },
        { event: 'finish', data: { reason: 'stop' } },
      ],
    }))
    const { chat, text, events } = setup()

    const result = await chat.send(request)

    expect(result.status).toBe('done')
    expect(text.value).toBe('Let me check.It is 58.5.')
    expect(events.map((e) => `${e.id} ${e.name}`)).toEqual([
      '0 start',
      '1 token',
      '2 tool_call',
      '3 tool_call',
      '4 tool_result',
      '5 tool_result',
      '7 token',
      '8 usage',
      '9 finish',
    ])
    expect(events.filter((e) => e.name === 'tool_call').map((e) => e.data)).toEqual([
      { callId: 'c1', name: 'get_current_time', arguments: { timeZone: 'Asia/Tokyo' } },
      { callId: 'c2', name: 'calculate', arguments: { expression: '(12.5+7)*3' } },
    ])
    expect(events.filter((e) => e.name === 'tool_result').map((e) => e.data)).toEqual([
      { callId: 'c2', name: 'calculate', result: { expression: '(12.5+7)*3', value: 58.5 }, durationMs: 3 },
      { callId: 'c1', name: 'get_current_time', error: 'Unknown time zone.', durationMs: 7 },
    ])
  })

  it('POSTs the request as JSON to the relative endpoint, asking for an event stream', async () => {
    api.handle(() => ({ steps: answer(['Hi']) }))
    const { chat } = setup()

    await chat.send(request)

    expect(api.requests).toHaveLength(1)
    const [sent] = api.requests
    expect(sent?.method).toBe('POST')
    expect(sent?.url).toBe('/api/chat/stream')
    expect(sent?.headers['content-type']).toBe('application/json')
    expect(sent?.headers.accept).toBe('text/event-stream')
    expect(sent?.body).toEqual(request)
  })

  it('starts a new W3C trace for each request, so the whole path shares one trace id', async () => {
    api.handle(() => ({ steps: answer(['Hi']) }))
    const { chat } = setup()

    await chat.send(request)
    await chat.send(request)

    const [first, second] = api.requests.map((r) => String(r.headers.traceparent))
    expect(first).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect(second?.split('-')[1]).not.toBe(first?.split('-')[1])
  })

  it('passes each token on as it arrives, before the finish event', async () => {
    api.handle(() => ({ steps: answer(['One', ' two', ' three', ' four'], { delayMs: 80 }) }))
    const seen: { id: number; status: string }[] = []
    const { chat, text } = setup({
      onEvent: (event) => {
        if (event.name === 'token') seen.push({ id: event.id, status: chat.status.value })
      },
    })

    const result = await chat.send(request)

    expect(result.status).toBe('done')
    expect(text.value).toBe('One two three four')
    expect(seen.map((s) => s.id)).toEqual([1, 2, 3, 4])
    // Every token arrived while the stream was still open.
    expect(seen.every((s) => s.status === 'streaming')).toBe(true)
    expect(chat.status.value).toBe('done')
    expect(chat.state.value.finishReason).toBe('stop')
    expect(result).toMatchObject({ requestId: 'req-1', lastEventId: 6 })
  })

  it('dispatches on the event name and ignores unknown events and ping comments', async () => {
    api.handle(() => ({
      steps: [
        startStep({ requestId: 'r', model: 'm', promptTokens: 5, contextWindow: 100 }),
        { comment: 'ping' },
        { event: 'token', data: { text: 'A' } },
        { event: 'mystery', data: { text: 'NOT TEXT' } },
        { event: 'token', data: { text: 'B' } },
        { event: 'usage', data: { promptTokens: 5, completionTokens: 2, totalTokens: 7, remainingTokens: 93 } },
        { event: 'finish', data: { reason: 'length' } },
      ],
    }))
    const { chat, text, events } = setup()

    const result = await chat.send(request)

    expect(events.map((e) => e.name)).toEqual(['start', 'token', 'token', 'usage', 'finish'])
    expect(text.value).toBe('AB')
    expect(result.finishReason).toBe('length')
    expect(chat.state.value.start).toMatchObject({ model: 'm', heartbeatSeconds: 15, maxTokens: 4096 })
  })

  it('turns a ProblemDetails answer into field errors, without retrying', async () => {
    api.handle(() => ({
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({
        type: 'https://tools.ietf.org/html/rfc9110#section-15.5.1',
        title: 'One or more validation errors occurred.',
        status: 400,
        errors: { 'messages[0].content': ['Content must not be empty.'], maxTokens: ['Too many.'] },
      }),
    }))
    const { chat } = setup()

    const result = await chat.send(request)
    await sleep(1100) // longer than fetch-event-source's 1 s retry interval

    expect(result.status).toBe('error')
    expect(result.error).toMatchObject({ code: 'invalid_request', status: 400, retryable: false })
    expect(chat.state.value.fieldErrors).toEqual({
      'messages[0].content': ['Content must not be empty.'],
      maxTokens: ['Too many.'],
    })
    expect(api.requests).toHaveLength(1)
  })

  it('reports another non-2xx answer as an error state, without retrying', async () => {
    api.handle(() => ({ status: 502, headers: { 'content-type': 'text/plain' }, body: 'Bad gateway' }))
    const { chat } = setup()

    const result = await chat.send(request)
    await sleep(1100) // longer than fetch-event-source's 1 s retry interval

    expect(result.error).toMatchObject({ code: 'http_error', status: 502, retryable: true })
    expect(chat.status.value).toBe('error')
    expect(api.requests).toHaveLength(1)
  })

  it.each([
    [429, 'rate_limited', 'Too many chats from you.'],
    [503, 'server_busy', 'Too many chats at once.'],
  ] as const)('turns a %i ProblemDetails with Retry-After into %s with its wait, without retrying', async (status, code, detail) => {
    api.handle(() => ({
      status,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '7' },
      body: JSON.stringify({ title: 'Busy', status, detail }),
    }))
    const { chat } = setup()

    const result = await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(result.error).toEqual({ code, message: detail, status, retryAfterSeconds: 7, retryAt: expect.any(Number), retryable: true })
    // The wait is kept as a moment, so that it counts down the same wherever it is shown later.
    expect(result.error!.retryAt! - Date.now()).toBeGreaterThan(6000)
    expect(api.requests).toHaveLength(1)
  })

  it('ends on an error event and keeps rate-limit details, without a second POST', async () => {
    api.handle(() => ({
      steps: [startStep(), { event: 'error', data: { code: 'rate_limited', message: 'Slow down.', retryAfterSeconds: 7 } }],
    }))
    const { chat } = setup()

    const result = await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(result.status).toBe('error')
    expect(result.error).toEqual({ code: 'rate_limited', message: 'Slow down.', retryAfterSeconds: 7, retryAt: expect.any(Number), retryable: true })
    expect(api.requests).toHaveLength(1)
  })

  it('resumes a cut connection with GET and Last-Event-ID: every token once, one POST', async () => {
    api.handle(() => ({ steps: cutAnswer(['One', ' two', ' three'], 1, 150) }))
    const { chat, text, events } = setup({ reconnectDelaysMs: [50, 100, 200] })
    const statuses: string[] = []
    watch(chat.status, (s) => statuses.push(s), { flush: 'sync' })

    const result = await chat.send(request)

    expect(result.status).toBe('done')
    expect(text.value).toBe('One two three')
    expect(events.map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5])
    expect(statuses).toContain('reconnecting')
    expect(api.posts()).toHaveLength(1)
    expect(api.resumes().map((r) => [r.url, r.headers['last-event-id']])).toEqual([['/api/chat/stream/req-1', '1']])
    // The resume joins the answer's trace (the one start reported), as a new span.
    expect(String(api.resumes()[0]!.headers.traceparent)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/)
    await sleep(AFTER_RETRY_MS)
    expect(api.posts()).toHaveLength(1)
  })

  it('shows which try it is while reconnecting, and waits as long as a 503 asks', async () => {
    api.handle(() => ({ steps: cutAnswer(['Before', ' after'], 1) }))
    api.handleResume((_req, index) =>
      index === 0
        ? { status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '1' }, body: '{}' }
        : undefined,
    )
    const { chat, text } = setup()
    const attempts: number[] = []
    watch(() => chat.state.value.reconnect, (r) => attempts.push(r?.attempt ?? 0), { flush: 'sync' })

    const result = await chat.send(request)

    expect(result.status).toBe('done')
    expect(text.value).toBe('Before after')
    expect(attempts).toEqual([1, 2, 0])
    const [first, second] = api.resumes()
    // Retry-After: 1 outweighs the second try's 40 ms.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950)
    expect(first!.headers['last-event-id']).toBe('1')
    expect(second!.headers['last-event-id']).toBe('1')
    expect(api.posts()).toHaveLength(1)
  })

  it('treats a stream that closes early, every time, as lost after a few tries, keeping what arrived', async () => {
    api.handle(() => ({ steps: answer(['Partial', ' answer']).slice(0, 3) }))
    const { chat, text } = setup()

    const result = await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(result.status).toBe('error')
    expect(text.value).toBe('Partial answer')
    expect(result.error).toMatchObject({ code: 'connection_lost', retryable: true })
    expect(api.resumes()).toHaveLength(reconnectDelaysMs.length)
    expect(api.posts()).toHaveLength(1)
  })

  it('says the answer is gone when the resume gets 404, and keeps the text so far', async () => {
    api.handle(() => ({ steps: [...answer(['Kept', ' lost']).slice(0, 2), { disconnect: true }, { delay: 1000 }] }))
    api.handleResume(() => {
      api.expire('req-1')
      return undefined
    })
    const { chat, text } = setup()

    const result = await chat.send(request)

    expect(result.status).toBe('error')
    expect(result.error).toMatchObject({ code: 'stream_gone', status: 404 })
    expect(chat.state.value.error?.message).toMatch(/no longer has this answer/)
    expect(text.value).toBe('Kept')
    expect(api.resumes()).toHaveLength(1)
    expect(api.posts()).toHaveLength(1)
  })

  it('resumes a stream that stays silent for twice the heartbeat interval from start', async () => {
    api.handle(() => ({
      steps: [
        startStep({ heartbeatSeconds: 0.1 }),
        { event: 'token', data: { text: 'Quiet' } },
        { stall: true },
        { delay: 100 },
        { event: 'token', data: { text: ' then' } },
        { delay: 600 },
        { event: 'token', data: { text: ' back' } },
        { event: 'usage', data: { promptTokens: 20, completionTokens: 3, totalTokens: 23, remainingTokens: 4073 } },
        { event: 'finish', data: { reason: 'stop' } },
      ],
    }))
    const { chat, text } = setup()

    const sending = chat.send(request)
    await until(() => api.resumes().length === 1, 2000, 'a resume')
    const result = await sending

    expect(result.status).toBe('done')
    expect(text.value).toBe('Quiet then back')
    expect(api.resumes()[0]!.headers['last-event-id']).toBe('1')
    expect(api.posts()).toHaveLength(1)
    // The silent connection was let go.
    await api.posts()[0]!.closed
  })

  it('takes ping comments as signs of life: a slow answer with heartbeats is not resumed', async () => {
    const pings: Step[] = Array.from({ length: 10 }, (): Step[] => [{ delay: 60 }, { comment: 'ping' }]).flat()
    api.handle(() => ({
      steps: [startStep({ heartbeatSeconds: 0.1 }), ...pings, ...answer(['Slow', ' but alive']).slice(1)],
    }))
    const { chat, text } = setup()

    const result = await chat.send(request)

    expect(result.status).toBe('done')
    expect(text.value).toBe('Slow but alive')
    expect(api.resumes()).toHaveLength(0)
  })

  it('does not wait forever for a stream that never sends a byte: lost, and never POSTed again', async () => {
    api.handle(() => ({ steps: [], end: 'hang' }))
    const { chat } = setup({ defaultHeartbeatSeconds: 0.1 })

    const started = Date.now()
    const result = await chat.send(request)

    // Lost after two silent heartbeats (0.2 s); far less than forever, and than a real 15 s heartbeat.
    expect(Date.now() - started).toBeLessThan(8000)
    expect(result.error).toMatchObject({ code: 'connection_lost', retryable: true })
    expect(chat.status.value).toBe('error')
    await api.posts()[0]!.closed
    await sleep(AFTER_RETRY_MS)
    expect(api.requests).toHaveLength(1)
  })

  it('lets go of the connection when the browser goes offline, and resumes once it is back online', async () => {
    api.handle(() => ({ steps: answer(['Before', ' offline', ' after'], { delayMs: 150 }) }))
    const { chat, text } = setup()
    const setOnline = (online: boolean) => {
      Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => online })
      window.dispatchEvent(new Event(online ? 'online' : 'offline'))
    }

    try {
      const sending = chat.send(request)
      await until(() => text.value === 'Before', 2000, 'first token')
      setOnline(false)
      await api.posts()[0]!.closed
      expect(chat.status.value).toBe('reconnecting')
      // No try is wasted while there is no network (the reconnection delays are 20-80 ms).
      await sleep(600)
      expect(api.resumes()).toHaveLength(0)
      expect(chat.status.value).toBe('reconnecting')
      setOnline(true)
      const result = await sending

      expect(result.status).toBe('done')
      expect(text.value).toBe('Before offline after')
      expect(api.resumes()).toHaveLength(1)
      expect(api.posts()).toHaveLength(1)
    } finally {
      // jsdom's own getter, back on the prototype.
      delete (navigator as { onLine?: boolean }).onLine
    }
  })

  it('applies an event a resume sends again only once', async () => {
    api.handle(() => ({ steps: cutAnswer(['A', 'B'], 1) }))
    // A server that ignores Last-Event-ID and sends the whole stream again.
    api.handleResume(() => ({
      headers: { 'content-type': 'text/event-stream' },
      body: answer(['A', 'B'])
        .map((step, id) => ('event' in step ? `id: ${id}\nevent: ${step.event}\ndata: ${JSON.stringify(step.data)}\n\n` : ''))
        .join(''),
    }))
    const { chat, text, events } = setup()

    const result = await chat.send(request)

    expect(result.status).toBe('done')
    expect(text.value).toBe('AB')
    expect(events.filter((e) => e.name === 'start')).toHaveLength(1)
    expect(events.filter((e) => e.name === 'token')).toHaveLength(2)
  })

  it('resume() picks up a running generation after the given event id (a reload)', async () => {
    api.handle(() => ({ steps: answer(['One', ' two', ' three'], { requestId: 'req-9', delayMs: 100 }) }))
    const first = setup()
    void first.chat.send(request)
    await until(() => first.text.value === 'One', 2000, 'first token')
    first.scope.stop() // the page goes away: the generation goes on

    const { chat, text, events } = setup()
    const result = await chat.resume('req-9', 1)

    expect(result.status).toBe('done')
    expect(text.value).toBe(' two three')
    expect(events[0]?.id).toBe(2)
    expect(api.resumes()[0]?.url).toBe('/api/chat/stream/req-9')
    expect(api.resumes()[0]?.headers['last-event-id']).toBe('1')
    expect(api.posts()).toHaveLength(1)
    expect(api.stops()).toHaveLength(0)
  })

  it('does not POST again after a normal finish', async () => {
    api.handle(() => ({ steps: answer(['Done']) }))
    const { chat } = setup()

    await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(api.requests).toHaveLength(1)
    expect(chat.status.value).toBe('done')
  })

  it('stop() stops the generation on the server and closes the connection; the partial text stays', async () => {
    api.handle(() => ({ steps: answer(['Some', ' text']).slice(0, 3), end: 'hang' }))
    const { chat, text } = setup()

    const sending = chat.send(request)
    await until(() => text.value === 'Some text', 2000, 'partial text')
    const stoppedAt = Date.now()
    chat.stop()
    expect(chat.status.value).toBe('stopped')

    const result = await sending
    // The answer never ends on its own ('hang'): the connection closed because of stop().
    await api.posts()[0]!.closed
    expect(Date.now() - stoppedAt).toBeLessThan(5000)
    expect(api.posts()[0]!.aborted).toBe(true)
    expect(result).toMatchObject({ status: 'stopped', error: null })
    expect(text.value).toBe('Some text')
    await until(() => api.stops().length === 1, 2000, 'the stop request')
    expect(api.stops()[0]?.url).toBe('/api/chat/stream/req-1/stop')
    // The fake's start names trace 0af76519…: the stop joins the trace the server reported.
    expect(String(api.stops()[0]?.headers.traceparent)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/)
    await sleep(AFTER_RETRY_MS)
    expect(api.posts()).toHaveLength(1)
    expect(api.resumes()).toHaveLength(0)
  })

  it('stop() before start stops at once here, and on the server once start names the generation', async () => {
    api.handle(() => ({ steps: [{ delay: 300 }, ...answer(['Never', ' shown'], { delayMs: 200 })] }))
    const { chat, text } = setup()

    const sending = chat.send(request)
    await sleep(100)
    chat.stop()
    expect(chat.status.value).toBe('stopped')
    expect(chat.isActive.value).toBe(false)

    const result = await sending
    expect(result.status).toBe('stopped')
    await until(() => api.stops().length === 1, 2000, 'the stop request')
    expect(api.stops()[0]?.url).toBe('/api/chat/stream/req-1/stop')
    await api.posts()[0]!.closed
    expect(text.value).toBe('')
  })

  it('ends as stopped when another reader stopped the generation (finish stopped)', async () => {
    api.handle(() => ({ steps: answer(['Going']).slice(0, 2), end: 'hang' }))
    const { chat, text } = setup()

    const sending = chat.send(request)
    await until(() => text.value === 'Going', 2000, 'first token')
    await api.fetch('/api/chat/stream/req-1/stop', { method: 'POST' })
    const result = await sending

    expect(result).toMatchObject({ status: 'stopped', finishReason: 'stopped', error: null })
    expect(result.usage?.completionTokens).toBe(1)
  })

  it('closes the connection when its effect scope is disposed, and leaves the generation running', async () => {
    api.handle(() => ({ steps: answer(['x']).slice(0, 2), end: 'hang' }))
    const { chat, scope, text } = setup()

    const sending = chat.send(request)
    await until(() => text.value === 'x', 2000, 'first token')
    scope.stop()

    await sending
    await api.posts()[0]!.closed
    expect(api.posts()[0]!.aborted).toBe(true)
    await sleep(AFTER_RETRY_MS)
    expect(api.stops()).toHaveLength(0)
  })

  it('reports an unreachable server as a lost connection', async () => {
    const { chat } = setup({ fetch: (input, init) => globalThis.fetch(new URL(String(input), 'http://127.0.0.1:1'), init) })

    const result = await chat.send(request)

    expect(result.error).toMatchObject({ code: 'connection_lost', retryable: true })
  })
})
