/**
 * The chat API's wire contract, defined once for the front end. `__tests__/chatEvents.contract.spec.ts`
 * holds these names and payloads against the API's OpenAPI document (`GptAspire.Api/GptAspire.Api.json`).
 */

/** Relative path of the streaming endpoint; the Node server (or Vite) proxies `/api`. */
export const CHAT_STREAM_PATH = '/api/chat/stream'

/** `GET`: the same generation again, from the event after the `Last-Event-ID` header. */
export const chatStreamResumePath = (requestId: string, base: string = CHAT_STREAM_PATH) =>
  `${base}/${encodeURIComponent(requestId)}`

/** `POST`: stops the generation wherever it runs; every reader gets `usage`, then `finish` `stopped`. */
export const chatStreamStopPath = (requestId: string, base: string = CHAT_STREAM_PATH) =>
  `${chatStreamResumePath(requestId, base)}/stop`

/** The header a resume sends: the `id` of the last event the page applied. */
export const LAST_EVENT_ID_HEADER = 'last-event-id'

export const EVENT_STREAM_CONTENT_TYPE = 'text/event-stream'
export const PROBLEM_JSON_CONTENT_TYPE = 'application/problem+json'

export type ChatRole = 'system' | 'user' | 'assistant'

export interface ChatMessageDto {
  role: ChatRole
  content: string
}

/** Request body of `POST /api/chat/stream`. */
export interface ChatRequest {
  messages: ChatMessageDto[]
  /** 1 to `maxOutputTokens` of `GET /api/info` */
  maxTokens?: number
  /** 0 to `maxTemperature` of `GET /api/info` */
  temperature?: number
}

/** Names of the server-sent events, in the order they can arrive. */
export const ChatEventName = {
  Start: 'start',
  Token: 'token',
  ToolCall: 'tool_call',
  ToolResult: 'tool_result',
  Usage: 'usage',
  Finish: 'finish',
  Error: 'error',
} as const

export type ChatEventName = (typeof ChatEventName)[keyof typeof ChatEventName]

export interface StartEventData {
  requestId: string
  model: string
  /** 32 hex characters: the W3C trace id of the request. */
  traceId: string
  promptTokens: number
  contextWindow: number
  remainingTokens: number
  /** The server sends a `: ping` comment after this much silence. */
  heartbeatSeconds: number
  /** The cap on answer tokens the server applies, when it applies one. */
  maxTokens?: number
}

export interface TokenEventData {
  text: string
}

/** A tool call whose arguments are complete, sent before the tool runs. Parallel calls each get one. */
export interface ToolCallEventData {
  /** Pairs the call with its `tool_result`. */
  callId: string
  name: string
  /** The parsed JSON arguments; `null` when the model's arguments were not a JSON object. */
  arguments: Record<string, unknown> | null
}

/** How a tool call ended: exactly one of `result` and `error`. */
export interface ToolResultEventData {
  callId: string
  name: string
  /** Any JSON value the tool returned. */
  result?: unknown
  error?: string
  durationMs: number
}

export interface UsageEventData {
  promptTokens: number
  completionTokens: number
  totalTokens: number
  remainingTokens: number
}

/** The `reason` values of `finish`. `stopped`: someone called the stop endpoint (this page or another reader). */
export const FINISH_REASONS = ['stop', 'length', 'content_filter', 'stopped'] as const

export type FinishReason = (typeof FINISH_REASONS)[number]

export interface FinishEventData {
  reason: FinishReason
}

/** The `code` values of `error` (the repository README says when each is sent). */
export const CHAT_ERROR_CODES = [
  'rate_limited',
  'content_filtered',
  'upstream_unavailable',
  'upstream_timeout',
  /** No connection to the AI service in time. */
  'upstream_connect_timeout',
  'upstream_error',
  /** Nobody read the stream for a while (30 s), so the server cancelled the answer. */
  'abandoned',
  /** The API is shutting down; the answer can be asked for again. */
  'server_shutting_down',
  /** The answer streamed for longer than the server allows. */
  'answer_too_long',
  /** The answer reached the stream's event or byte limit. */
  'stream_too_large',
  /** The server that generated the answer stopped before the answer ended. */
  'server_unavailable',
  /** The API failed while generating the answer. */
  'internal_error',
  /** The model kept asking for tools past the server's limit of rounds. */
  'tool_rounds_exceeded',
] as const

export type ChatErrorCode = (typeof CHAT_ERROR_CODES)[number]

export interface ErrorEventData {
  code: ChatErrorCode
  message: string
  /** Present with `rate_limited`: seconds to wait before retrying. */
  retryAfterSeconds?: number
}

/** Payload type of each named event. */
export interface ChatEventMap {
  start: StartEventData
  token: TokenEventData
  tool_call: ToolCallEventData
  tool_result: ToolResultEventData
  usage: UsageEventData
  finish: FinishEventData
  error: ErrorEventData
}

/**
 * Order: `start, token*, usage, finish` or `start?, token*, error`; after `start`, text and tool calls
 * interleave in the order they happened (`tool_call`+ then their `tool_result`s, then more tokens).
 * Exactly one `finish` or `error` arrives, last.
 */
export const TERMINAL_EVENTS: readonly ChatEventName[] = [ChatEventName.Finish, ChatEventName.Error]

const EVENT_NAMES = new Set<string>(Object.values(ChatEventName))

export function isChatEventName(name: string): name is ChatEventName {
  return EVENT_NAMES.has(name)
}

/**
 * A non-2xx answer (`application/problem+json`): 400 with `errors` (camelCase JSON paths), 404
 * for an unknown or expired stream, 429/503 with a `Retry-After` header.
 */
export interface ValidationProblemDetails {
  type?: string
  title?: string
  status?: number
  detail?: string
  /** e.g. `{ "messages[0].content": ["Content must not be empty."] }` */
  errors?: Record<string, string[]>
}

/** `GET`: the model and the limits the server applies to every chat. */
export const CHAT_INFO_PATH = '/api/info'

/** Body of `GET /api/info`. */
export interface ChatInfo {
  model: string
  contextWindow: number
  usingEmulator: boolean
  /** The longest conversation, in tokens, the server accepts. */
  maxPromptTokens: number
  /** The cap on answer tokens when a request sets no `maxTokens`. */
  defaultMaxTokens: number
  /** The largest `maxTokens` a request may ask for. */
  maxOutputTokens: number
  /** The largest `temperature` a request may ask for (the smallest is 0). */
  maxTemperature: number
  /** The names of the tools the model may call (empty when the server's tools are off). */
  tools: string[]
}
