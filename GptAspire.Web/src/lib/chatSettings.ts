import type { ChatInfo, ChatMessageDto, ChatRequest } from '@/api/chatEvents'

/** What a person can set for one conversation; sent with every request of it. */
export interface ChatSettings {
  /** Sent as a first `system` message when not blank. */
  systemPrompt: string
  /** 0 to the server's `maxTemperature`; `null` leaves the model's default. */
  temperature: number | null
  /** Cap on answer tokens, 1 to the server's `maxOutputTokens`; `null` leaves the server's default. */
  maxTokens: number | null
}

/** The settings a number is checked for, by the name the API gives the request field. */
export type NumericSetting = 'temperature' | 'maxTokens'

/** What each numeric setting is called on the page: in its label, and in the errors that name it. */
export const SETTING_LABELS: Readonly<Record<NumericSetting, string>> = Object.freeze({
  temperature: 'Temperature',
  maxTokens: 'Maximum answer tokens',
})

export const DEFAULT_SETTINGS: Readonly<ChatSettings> = Object.freeze({
  systemPrompt: '',
  temperature: null,
  maxTokens: null,
})

/** Settings read back from storage: anything missing or malformed falls back to the default. */
export function normalizeSettings(value: unknown): ChatSettings {
  const stored = (typeof value === 'object' && value !== null ? value : {}) as Partial<Record<keyof ChatSettings, unknown>>
  return {
    systemPrompt: typeof stored.systemPrompt === 'string' ? stored.systemPrompt : DEFAULT_SETTINGS.systemPrompt,
    temperature: isNumber(stored.temperature) && stored.temperature >= 0 ? stored.temperature : null,
    maxTokens: isNumber(stored.maxTokens) && Number.isInteger(stored.maxTokens) && stored.maxTokens >= 1 ? stored.maxTokens : null,
  }
}

/**
 * What a person typed into a numeric setting: `''` -> `null` (the default); a number in the server's
 * range -> that number; anything else -> the error to show. The range comes from `GET /api/info`; until
 * it has arrived only the lower bound is checked (the API names the field if the value is too large).
 * A number field reports what it cannot parse (`1e`, `--5`) as `''` with `badInput` set: an error too.
 */
export function parseSetting(
  setting: NumericSetting,
  text: string,
  limits: Pick<ChatInfo, 'maxTemperature' | 'maxOutputTokens'> | null,
  badInput = false,
): { value: number | null } | { error: string } {
  const integer = setting === 'maxTokens'
  const min = integer ? 1 : 0
  const max = limits ? (integer ? limits.maxOutputTokens : limits.maxTemperature) : Number.POSITIVE_INFINITY
  const range = Number.isFinite(max) ? `from ${min} to ${max.toLocaleString('en-US')}` : `of ${min} or more`
  const error = `Use ${integer ? 'a whole number' : 'a number'} ${range}, or leave it empty.`
  if (badInput) return { error }
  if (text.trim() === '') return { value: null }
  const value = Number(text)
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) return { error }
  return { value }
}

/**
 * The settings that differ from the defaults, in words, for the line the conversation shows: a new
 * chat takes the last one's settings, and they should not apply unseen.
 */
export function settingsInEffect(settings: ChatSettings): string[] {
  const shown: string[] = []
  if (settings.systemPrompt.trim() !== '') shown.push('System prompt')
  if (settings.temperature !== null) shown.push(`${SETTING_LABELS.temperature} ${settings.temperature}`)
  if (settings.maxTokens !== null) shown.push(`${SETTING_LABELS.maxTokens} ${settings.maxTokens.toLocaleString('en-US')}`)
  return shown
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

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
