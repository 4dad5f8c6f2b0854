// @vitest-environment node
// The page's copy of the SSE contract against the API's: the OpenAPI document the API serves, committed at
// GptAspire.Api/GptAspire.Api.json (a .NET test, OpenApiContractTests, holds that file to what the API serves).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  CHAT_ERROR_CODES,
  ChatEventName,
  FINISH_REASONS,
  type ChatInfo,
  type ChatRequest,
  type ChatRole,
  type ErrorEventData,
  type FinishEventData,
  type StartEventData,
  type TokenEventData,
  type ToolCallEventData,
  type ToolResultEventData,
  type UsageEventData,
} from '../chatEvents'

interface Schema {
  $ref?: string
  title?: string
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  enum?: string[]
  oneOf?: Schema[]
  items?: Schema
}

const document = JSON.parse(
  readFileSync(new URL('../../../../GptAspire.Api/GptAspire.Api.json', import.meta.url), 'utf8'),
) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>; components: { schemas: Record<string, Schema> } }
const schemas = document.components.schemas
const resolve = (schema: Schema): Schema => (schema.$ref ? schemas[schema.$ref.split('/').at(-1)!]! : schema)

/**
 * Each field of a TypeScript type, marked as TypeScript has it: the compiler checks every list below
 * against its interface (a field missing, extra, or optional where it is required fails the build).
 */
type Shape<T> = { [K in keyof T]-?: object extends Pick<T, K> ? 'optional' : 'required' }

const events = {
  start: {
    requestId: 'required',
    model: 'required',
    traceId: 'required',
    promptTokens: 'required',
    contextWindow: 'required',
    remainingTokens: 'required',
    heartbeatSeconds: 'required',
    maxTokens: 'optional',
  } satisfies Shape<StartEventData>,
  token: { text: 'required' } satisfies Shape<TokenEventData>,
  // `arguments` is always sent: null when the model's arguments were not valid JSON.
  tool_call: { callId: 'required', name: 'required', arguments: 'required' } satisfies Shape<ToolCallEventData>,
  tool_result: {
    callId: 'required',
    name: 'required',
    result: 'optional',
    error: 'optional',
    durationMs: 'required',
  } satisfies Shape<ToolResultEventData>,
  usage: {
    promptTokens: 'required',
    completionTokens: 'required',
    totalTokens: 'required',
    remainingTokens: 'required',
  } satisfies Shape<UsageEventData>,
  finish: { reason: 'required' } satisfies Shape<FinishEventData>,
  error: { code: 'required', message: 'required', retryAfterSeconds: 'optional' } satisfies Shape<ErrorEventData>,
}

const info = {
  model: 'required',
  contextWindow: 'required',
  usingEmulator: 'required',
  maxPromptTokens: 'required',
  defaultMaxTokens: 'required',
  maxOutputTokens: 'required',
  maxTemperature: 'required',
  tools: 'required',
} satisfies Shape<ChatInfo>

/** The schema's fields in the same form as a Shape. */
function shapeOf(schema: Schema): Record<string, 'required' | 'optional'> {
  const required = new Set(schema.required ?? [])
  return Object.fromEntries(Object.keys(schema.properties ?? {}).map((field) => [field, required.has(field) ? 'required' : 'optional']))
}

const sorted = (values: readonly string[]) => [...values].sort()

describe('the SSE contract of chatEvents.ts against the API`s OpenAPI document', () => {
  const streamEvents = resolve(schemas.ChatStreamEvent!).oneOf!.map((variant) => ({
    name: variant.properties!.event!.enum![0]!,
    title: variant.title,
    dataRef: variant.properties!.data!.$ref,
    data: resolve(variant.properties!.data!),
  }))

  it('has the same event names, in the same order', () => {
    expect(streamEvents.map((e) => e.name)).toEqual(Object.values(ChatEventName))
  })

  it('titles each event by its name, with its data under the name`s component (tool_call: ToolCallEvent)', () => {
    const component = (name: string) =>
      `#/components/schemas/${name.replace(/(?:^|_)(\w)/g, (_, letter: string) => letter.toUpperCase())}Event`
    for (const event of streamEvents) expect([event.title, event.dataRef]).toEqual([event.name, component(event.name)])
  })

  it.each(Object.entries(events))('`%s` carries the same fields, required and optional alike', (name, shape) => {
    const event = streamEvents.find((e) => e.name === name)
    expect(event, `no '${name}' event in the document`).toBeDefined()
    expect(shapeOf(event!.data)).toEqual(shape)
  })

  it('knows every finish reason and error code the API sends, and no other', () => {
    const byName = Object.fromEntries(streamEvents.map((e) => [e.name, e.data]))
    expect(sorted(FINISH_REASONS)).toEqual(sorted(byName.finish!.properties!.reason!.enum!))
    expect(sorted(CHAT_ERROR_CODES)).toEqual(sorted(byName.error!.properties!.code!.enum!))
  })

  it('reads the stream from the 200 text/event-stream answer of the POST and of the resume', () => {
    for (const [path, method] of [
      ['/api/chat/stream', 'post'],
      ['/api/chat/stream/{requestId}', 'get'],
    ] as const) {
      const content = document.paths[path]?.[method]?.responses['200']?.content
      expect(content?.['text/event-stream']?.schema.$ref, `${method} ${path}`).toBe('#/components/schemas/ChatStreamEvent')
    }
  })

  it('sends the request fields the API reads, and reads the limits /api/info serves', () => {
    const request = { messages: 'required', maxTokens: 'optional', temperature: 'optional' } satisfies Shape<ChatRequest>
    expect(shapeOf(schemas.ChatRequest!)).toEqual(request)
    expect(shapeOf(schemas.ChatInfo!)).toEqual(info)
  })

  it('sends the roles the API accepts, and its numbers as the JSON types the API reads', () => {
    // Every ChatRole, and no other: the compiler checks the keys against the type.
    const roles = { system: true, user: true, assistant: true } satisfies Record<ChatRole, true>
    const message = resolve(schemas.ChatRequest!.properties!.messages!.items!)
    expect(sorted(Object.keys(roles))).toEqual(sorted(message.properties!.role!.enum!))
    expect(message.properties!.content!.type).toBe('string')
    expect(schemas.ChatRequest!.properties!.maxTokens!.type).toBe('integer')
    expect(schemas.ChatRequest!.properties!.temperature!.type).toBe('number')
  })
})
