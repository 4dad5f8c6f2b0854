// Benchmark peer: the Vercel AI SDK way to stream a chat. A plain Node HTTP server whose
// POST /api/chat/stream runs streamText() against an OpenAI-compatible endpoint and writes the
// same named events as GptAspire.Api (start, token*, usage, finish | error), so that the load
// client reads every peer alike.
//   OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=... PORT=... node server.mjs
import http from 'node:http'
import { randomUUID } from 'node:crypto'
import { createOpenAI } from '@ai-sdk/openai'
import { streamText } from 'ai'

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY })
// .chat(): the Chat Completions API, which is what the emulator (and the API under test) speak.
const model = openai.chat(process.env.OPENAI_MODEL ?? 'gpt-4o-mini')

/** @param {http.IncomingMessage} req */
async function readJson(req) {
  const parts = []
  for await (const part of req) parts.push(part)
  return JSON.parse(Buffer.concat(parts).toString('utf8'))
}

const server = http.createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('Healthy')
    return
  }
  if (req.method !== 'POST' || req.url !== '/api/chat/stream') {
    res.writeHead(404).end()
    return
  }

  let body
  try {
    body = await readJson(req)
  } catch {
    res.writeHead(400).end()
    return
  }

  const abort = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) abort.abort()
  })
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  })
  let id = 0
  const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\nid: ${id++}\n\n`)
  send('start', { requestId: randomUUID() })

  const result = streamText({
    model,
    messages: body.messages,
    maxOutputTokens: body.maxTokens,
    abortSignal: abort.signal,
    maxRetries: 0,
  })
  try {
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') send('token', { text: part.text })
      else if (part.type === 'finish') {
        const usage = part.totalUsage
        send('usage', { promptTokens: usage.inputTokens, completionTokens: usage.outputTokens, totalTokens: usage.totalTokens })
        send('finish', { reason: part.finishReason })
      } else if (part.type === 'error') send('error', { code: 'upstream_error' })
    }
  } catch {
    if (!abort.signal.aborted) send('error', { code: 'upstream_error' })
  }
  res.end()
})

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`ai-sdk peer listening on ${JSON.stringify(server.address())}`)
})
process.once('SIGTERM', () => process.exit(0))
