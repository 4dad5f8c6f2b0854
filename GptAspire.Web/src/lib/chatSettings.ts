import type { ChatMessageDto, ChatRequest } from '@/api/chatEvents'

/** What a person can set for one conversation; sent with every request of it. */
export interface ChatSettings {
  /** Sent as a first `system` message when not blank. */
  systemPrompt: string
  /** 0..2; `null` leaves the model's default. */
  temperature: number | null
  /** Cap on answer tokens, 1..16384; `null` leaves the server's default. */
  maxTokens: number | null
}

export const TEMPERATURE_MIN = 0
export const TEMPERATURE_MAX = 2
export const MAX_TOKENS_MIN = 1
export const MAX_TOKENS_MAX = 16384

export const DEFAULT_SETTINGS: Readonly<ChatSettings> = Object.freeze({
  systemPrompt: '',
  temperature: null,
  maxTokens: null,
})

/** Settings read back from storage: anything missing or out of range falls back to the default. */
export function normalizeSettings(value: unknown): ChatSettings {
  const stored = (typeof value === 'object' && value !== null ? value : {}) as Partial<Record<keyof ChatSettings, unknown>>
  return {
    systemPrompt: typeof stored.systemPrompt === 'string' ? stored.systemPrompt : DEFAULT_SETTINGS.systemPrompt,
    temperature: inRange(stored.temperature, TEMPERATURE_MIN, TEMPERATURE_MAX) ? stored.temperature : null,
    maxTokens:
      inRange(stored.maxTokens, MAX_TOKENS_MIN, MAX_TOKENS_MAX) && Number.isInteger(stored.maxTokens)
        ? stored.maxTokens
        : null,
  }
}

/** The request body for a conversation's messages under its settings. */
export function toChatRequest(messages: ChatMessageDto[], settings?: ChatSettings): ChatRequest {
  if (!settings) return { messages }
  const system = settings.systemPrompt.trim()
  const request: ChatRequest = { messages: system ? [{ role: 'system', content: system }, ...messages] : messages }
  if (settings.temperature !== null) request.temperature = settings.temperature
  if (settings.maxTokens !== null) request.maxTokens = settings.maxTokens
  return request
}

function inRange(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max
}
