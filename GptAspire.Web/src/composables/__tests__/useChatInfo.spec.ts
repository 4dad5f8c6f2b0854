import { afterEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'
import { CHAT_INFO_RETRY_MS, useChatInfo } from '../useChatInfo'
import type { ChatInfo } from '@/api/chatEvents'

const INFO: ChatInfo = {
  model: 'gpt-4o-mini',
  contextWindow: 128_000,
  usingEmulator: true,
  maxPromptTokens: 100_000,
  defaultMaxTokens: 1024,
  maxOutputTokens: 4096,
  maxTemperature: 2,
  tools: [],
}

/** A fetch that answers the look-ups with `answers`, in order (a thrown error is a network failure). */
function fetchAnswering(answers: (() => Response)[]) {
  const calls: string[] = []
  const fetchImpl = vi.fn(async (input: RequestInfo | URL) => {
    calls.push(String(input))
    const next = answers.shift()
    if (!next) throw new Error('no more answers')
    return next()
  }) as unknown as typeof fetch
  return { fetchImpl, calls }
}

const json = (status: number, body: unknown) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
const unreachable = () => {
  throw new TypeError('Failed to fetch')
}

afterEach(() => {
  vi.useRealTimers()
})

describe('useChatInfo', () => {
  it('asks again while the API cannot be reached, and gets the limits once it answers', async () => {
    vi.useFakeTimers()
    // The page was opened before the API was up: the proxy's 504, a refused connection, a 503, then the limits.
    const { fetchImpl, calls } = fetchAnswering([json(504, {}), unreachable, json(503, {}), json(200, INFO)])
    const { info } = effectScope().run(() => useChatInfo({ fetch: fetchImpl }))!
    await vi.advanceTimersByTimeAsync(0)
    expect(info.value).toBeNull()
    expect(calls).toEqual(['/api/info'])

    await vi.advanceTimersByTimeAsync(CHAT_INFO_RETRY_MS.first)
    expect(calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(CHAT_INFO_RETRY_MS.first * 2)
    expect(calls).toHaveLength(3)
    expect(info.value).toBeNull()
    await vi.advanceTimersByTimeAsync(CHAT_INFO_RETRY_MS.first * 4)
    expect(calls).toHaveLength(4)
    expect(info.value).toEqual(INFO)

    // Another component of the page shares the answer: no new request.
    const { info: again } = effectScope().run(() => useChatInfo({ fetch: fetchImpl }))!
    await vi.advanceTimersByTimeAsync(0)
    expect(again.value).toEqual(INFO)
    expect(calls).toHaveLength(4)
  })

  it('waits at most the longest retry between look-ups', async () => {
    vi.useFakeTimers()
    const { fetchImpl, calls } = fetchAnswering(Array.from({ length: 12 }, () => unreachable))
    effectScope().run(() => useChatInfo({ fetch: fetchImpl }))
    await vi.advanceTimersByTimeAsync(0)
    // 1 + 2 + 4 + 8 + 16 s, then every 30 s.
    await vi.advanceTimersByTimeAsync(31_000)
    expect(calls).toHaveLength(6)
    await vi.advanceTimersByTimeAsync(CHAT_INFO_RETRY_MS.max)
    expect(calls).toHaveLength(7)
  })

  it('does not ask again when the answer will not change (a 404)', async () => {
    vi.useFakeTimers()
    const { fetchImpl, calls } = fetchAnswering([json(404, {}), json(200, INFO)])
    const { info } = effectScope().run(() => useChatInfo({ fetch: fetchImpl }))!
    await vi.advanceTimersByTimeAsync(60_000)
    expect(calls).toHaveLength(1)
    expect(info.value).toBeNull()
  })
})
