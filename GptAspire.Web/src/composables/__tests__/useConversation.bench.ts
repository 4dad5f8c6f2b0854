// Per-token cost of the page's hot path: SSE parsing, dispatch, and appending the token to its
// turn in the conversation. Run with `npx vitest bench --run`; per token = 1 s / (hz x TOKENS).
import { bench, describe } from 'vitest'
import { effectScope } from 'vue'
import { useConversation, type ChatTurn } from '../useConversation'
import { createConversationStore } from '@/lib/conversationStore'

const TOKENS = 2000

function eventStream(): string {
  const frames = [
    `id: 0\nevent: start\ndata: ${JSON.stringify({ requestId: 'r', model: 'm', traceId: 't', promptTokens: 10, contextWindow: 128000, remainingTokens: 127990, heartbeatSeconds: 15, maxTokens: 4096 })}\n\n`,
  ]
  for (let i = 1; i <= TOKENS; i++) frames.push(`id: ${i}\nevent: token\ndata: {"text":" word${i % 50}"}\n\n`)
  frames.push(`id: ${TOKENS + 1}\nevent: usage\ndata: {"promptTokens":10,"completionTokens":${TOKENS},"totalTokens":${TOKENS + 10},"remainingTokens":${127990 - TOKENS}}\n\n`)
  frames.push(`id: ${TOKENS + 2}\nevent: finish\ndata: {"reason":"stop"}\n\n`)
  return frames.join('')
}

const body = new TextEncoder().encode(eventStream())
const fakeFetch: typeof fetch = async () =>
  new Response(body, { headers: { 'content-type': 'text/event-stream' } })

function storageWith(turns: number): Storage {
  const messages: ChatTurn[] = Array.from({ length: turns }, (_, i) => ({
    id: `t${i}`,
    role: i % 2 ? 'assistant' : 'user',
    content: 'An earlier message of about this length. '.repeat(10),
    status: 'done',
  }))
  const items = new Map([['bench.c', JSON.stringify({ version: 1, messages })]])
  return {
    get length() {
      return items.size
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, value),
  }
}

describe(`one answer of ${TOKENS} tokens`, () => {
  for (const turns of [0, 40]) {
    bench(`after ${turns} earlier turns`, async () => {
      const scope = effectScope()
      const conversation = scope.run(() => useConversation({ fetch: fakeFetch, store: createConversationStore({ storage: storageWith(turns), key: 'bench' }), id: 'c' }))!
      const result = await conversation.send('Hi')
      if (result?.status !== 'done' || conversation.messages.value.at(-1)?.content.length === 0) {
        throw new Error('The answer did not stream.')
      }
      scope.stop()
    })
  }
})
