import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { effectScope, watch } from 'vue'
import { useChatStream, type ChatStreamEvent, type UseChatStreamOptions } from '../useChatStream'
import { AFTER_RETRY_MS, answer, sleep, startFakeChatApi, until, type FakeChatApi } from '@/__tests__/fakeChatApi'

let api: FakeChatApi
beforeAll(async () => {
  api = await startFakeChatApi()
})
afterAll(() => api.close())
afterEach(() => {
  api.requests.length = 0
})

const request = { messages: [{ role: 'user' as const, content: 'Hi' }] }

function setup(options: UseChatStreamOptions = {}) {
  const scope = effectScope()
  const chat = scope.run(() => useChatStream({ fetch: api.fetch, ...options }))!
  return { chat, scope }
}

describe('useChatStream', () => {
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

  it('grows the text token by token before the finish event arrives', async () => {
    api.handle(() => ({ steps: answer(['One', ' two', ' three', ' four'], { delayMs: 80 }) }))
    const { chat } = setup()
    const seen: { text: string; status: string }[] = []
    watch(chat.text, (text) => seen.push({ text, status: chat.status.value }), { flush: 'sync' })

    const result = await chat.send(request)

    expect(result.status).toBe('done')
    expect(result.text).toBe('One two three four')
    expect(seen.map((s) => s.text)).toEqual(['One', 'One two', 'One two three', 'One two three four'])
    // Every partial text was visible while the stream was still open.
    expect(seen.every((s) => s.status === 'streaming')).toBe(true)
    expect(chat.status.value).toBe('done')
    expect(chat.finishReason.value).toBe('stop')
  })

  it('dispatches on the event name and ignores unknown events and ping comments', async () => {
    api.handle(() => ({
      steps: [
        { event: 'start', data: { requestId: 'r', model: 'm', traceId: 't', promptTokens: 5, contextWindow: 100, remainingTokens: 95 } },
        { comment: 'ping' },
        { event: 'token', data: { text: 'A' } },
        { event: 'mystery', data: { text: 'NOT TEXT' } },
        { event: 'token', data: { text: 'B' } },
        { event: 'usage', data: { promptTokens: 5, completionTokens: 2, totalTokens: 7, remainingTokens: 93 } },
        { event: 'finish', data: { reason: 'length' } },
      ],
    }))
    const events: ChatStreamEvent['name'][] = []
    const { chat } = setup({ onEvent: (event) => events.push(event.name) })

    const result = await chat.send(request)

    expect(events).toEqual(['start', 'token', 'token', 'usage', 'finish'])
    expect(result.text).toBe('AB')
    expect(result.finishReason).toBe('length')
    expect(chat.startInfo.value?.model).toBe('m')
  })

  it('counts tokens live from start, then takes usage as exact', async () => {
    api.handle(() => ({
      steps: [
        { event: 'start', data: { requestId: 'r', model: 'm', traceId: 't', promptTokens: 10, contextWindow: 110, remainingTokens: 100 } },
        { event: 'token', data: { text: 'a' } },
        { event: 'token', data: { text: 'b' } },
        { delay: 400 },
        { event: 'usage', data: { promptTokens: 10, completionTokens: 3, totalTokens: 13, remainingTokens: 97 } },
        { event: 'finish', data: { reason: 'stop' } },
      ],
    }))
    const { chat } = setup()

    const sending = chat.send(request)
    await until(() => chat.tokenCount.value === 2, 2000, 'two tokens')
    expect(chat.completionTokens.value).toBe(2)
    expect(chat.remainingTokens.value).toBe(98)
    await sending

    expect(chat.usage.value?.totalTokens).toBe(13)
    expect(chat.completionTokens.value).toBe(3)
    expect(chat.remainingTokens.value).toBe(97)
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
    expect(chat.fieldErrors.value).toEqual({
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

  it('ends on an error event and keeps rate-limit details, without a second POST', async () => {
    api.handle(() => ({
      steps: [
        { event: 'start', data: { requestId: 'r', model: 'm', traceId: 't', promptTokens: 5, contextWindow: 100, remainingTokens: 95 } },
        { event: 'error', data: { code: 'rate_limited', message: 'Slow down.', retryAfterSeconds: 7 } },
      ],
    }))
    const { chat } = setup()

    const result = await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(result.status).toBe('error')
    expect(result.error).toEqual({ code: 'rate_limited', message: 'Slow down.', retryAfterSeconds: 7, retryable: true })
    expect(api.requests).toHaveLength(1)
  })

  it('treats a stream that closes without finish or error as a lost connection, without a second POST', async () => {
    api.handle(() => ({ steps: answer(['Partial', ' answer']).slice(0, 3) }))
    const { chat } = setup()

    const result = await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(result.status).toBe('error')
    expect(result.text).toBe('Partial answer')
    expect(result.error).toMatchObject({ code: 'connection_lost', retryable: true })
    expect(api.requests).toHaveLength(1)
  })

  it('treats a cut connection as a lost connection, without a second POST', async () => {
    api.handle(() => ({ steps: answer(['Cut']).slice(0, 2), end: 'destroy' }))
    const { chat } = setup()

    const result = await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(result.error?.code).toBe('connection_lost')
    expect(api.requests).toHaveLength(1)
  })

  it('does not POST again after a normal finish', async () => {
    api.handle(() => ({ steps: answer(['Done']) }))
    const { chat } = setup()

    await chat.send(request)
    await sleep(AFTER_RETRY_MS)

    expect(api.requests).toHaveLength(1)
    expect(chat.status.value).toBe('done')
  })

  it('stop() aborts the request: the server sees the connection close and the partial text stays', async () => {
    api.handle(() => ({ steps: answer(['Some', ' text']).slice(0, 3), end: 'hang' }))
    const { chat } = setup()

    const sending = chat.send(request)
    await until(() => chat.text.value === 'Some text', 2000, 'partial text')
    const stoppedAt = Date.now()
    chat.stop()
    expect(chat.status.value).toBe('stopped')

    const result = await sending
    await api.requests[0]!.closed
    expect(Date.now() - stoppedAt).toBeLessThan(1000)
    expect(api.requests[0]!.aborted).toBe(true)
    expect(result).toMatchObject({ status: 'stopped', text: 'Some text', error: null })
    await sleep(AFTER_RETRY_MS)
    expect(api.requests).toHaveLength(1)
  })

  it('aborts the stream when its effect scope is disposed', async () => {
    api.handle(() => ({ steps: answer(['x']).slice(0, 2), end: 'hang' }))
    const { chat, scope } = setup()

    const sending = chat.send(request)
    await until(() => chat.text.value === 'x', 2000, 'first token')
    scope.stop()

    await sending
    await api.requests[0]!.closed
    expect(api.requests[0]!.aborted).toBe(true)
  })

  it('reports an unreachable server as a lost connection', async () => {
    const { chat } = setup({ fetch: (input, init) => globalThis.fetch(new URL(String(input), 'http://127.0.0.1:1'), init) })

    const result = await chat.send(request)

    expect(result.error).toMatchObject({ code: 'connection_lost', retryable: true })
  })
})
