/**
 * Where the conversations live between visits: browser storage, read and written only here. The list
 * (ids, titles, settings) is under one key, each conversation's turns under their own, so a streaming
 * answer rewrites only its own conversation. Older formats are carried over on load, never dropped.
 */
import type { FinishReason, UsageEventData } from '@/api/chatEvents'
import type { ChatStreamError } from '@/api/chatTransport'
import { DEFAULT_SETTINGS, normalizeSettings, type ChatSettings } from './chatSettings'

export type ChatTurnStatus = 'streaming' | 'done' | 'stopped' | 'error'

/**
 * A tool the model called during an answer: where in the answer it happened and, once its
 * `tool_result` came, how it ended. Neither `result` nor `error` while it runs.
 */
export interface ChatToolCall {
  callId: string
  name: string
  /** The parsed arguments; `null` when the model's were not a JSON object. */
  arguments: Record<string, unknown> | null
  /** Where it happened: the length of the answer's `content` when the call arrived. */
  at: number
  /** Any JSON value the tool returned (`null` included). */
  result?: unknown
  error?: string
  /** Set with the outcome. */
  durationMs?: number
}

/** One message of a conversation, as the page keeps and stores it: the only copy of an answer. */
export interface ChatTurn {
  id: string
  role: 'user' | 'assistant'
  content: string
  /** User turns are always `done`. */
  status: ChatTurnStatus
  finishReason?: FinishReason
  error?: ChatStreamError
  usage?: UsageEventData
  /** Assistant turns: the generation on the server, from `start` (a reload resumes it). */
  requestId?: string
  /** Assistant turns: the `id` of the last event whose text is in `content`. */
  lastEventId?: number
  /** Assistant turns: the server's cap on answer tokens, from `start`. */
  maxTokens?: number
  /** Assistant turns: the model writing it, from `start` (kept so a reload that resumes past `start` still knows). */
  model?: string
  /** Assistant turns: what was left of the context window before the answer, from `start`. */
  remainingAtStart?: number
  /** Assistant turns: the tools called, in order, each placed in `content` by its `at`. */
  tools?: ChatToolCall[]
}

/** One conversation of the list (its turns are stored apart, under their own key). */
export interface ConversationSummary {
  id: string
  /** The name the person gave it, or `''` to name it after its first question. */
  customTitle: string
  /** The first question, shortened: the name when there is no custom title. */
  autoTitle: string
  createdAt: number
  settings: ChatSettings
}

export interface ConversationList {
  /** Newest first; never empty. */
  conversations: ConversationSummary[]
  /** The one on screen: always one of `conversations`. */
  currentId: string
}

export interface ConversationStore {
  /** The list; a first, empty conversation when there is none (taking over a pre-list page's conversation). */
  loadList: () => ConversationList
  saveList: (list: ConversationList) => void
  /** A conversation's turns; only its last answer may still be `streaming` (one to resume). */
  loadTurns: (id: string) => ChatTurn[]
  /** Saves a conversation's turns; none removes the key. */
  saveTurns: (id: string, turns: readonly ChatTurn[]) => void
  removeTurns: (id: string) => void
}

export interface ConversationStoreOptions {
  /**
   * `null` keeps everything in memory only.
   * @default window.localStorage
   */
  storage?: Storage | null
  /**
   * Key of the list; each conversation's turns are under `<key>.<id>`.
   * @default 'gptaspire.conversations'
   */
  key?: string
}

/** The format written now. Version 1 is the only one so far. */
export const STORAGE_VERSION = 1
export const DEFAULT_STORAGE_KEY = 'gptaspire.conversations'
/** Where the page kept its single conversation before it had a list. */
export const LEGACY_STORAGE_KEY = 'gptaspire.conversation'

/** The conversations in browser storage. Storage that is missing or full never breaks the chat: it stays in memory. */
export function createConversationStore(options: ConversationStoreOptions = {}): ConversationStore {
  const storage = options.storage === undefined ? defaultStorage() : options.storage
  const key = options.key ?? DEFAULT_STORAGE_KEY
  const turnsKey = (id: string) => `${key}.${id}`

  const read = (k: string): unknown => {
    const raw = attempt(() => storage?.getItem(k))
    if (!raw) return undefined
    try {
      return JSON.parse(raw) as unknown
    } catch {
      return null
    }
  }
  const write = (k: string, value: unknown) => attempt(() => storage?.setItem(k, JSON.stringify(value)))

  /** A value this page cannot read is set aside, not overwritten: a newer page may still read it. */
  const setAside = (k: string) =>
    attempt(() => {
      const raw = storage?.getItem(k)
      if (raw) storage?.setItem(`${k}.unreadable`, raw)
    })

  function loadList(): ConversationList {
    const value = read(key)
    let conversations: ConversationSummary[] = []
    let currentId = ''
    if (isRecord(value) && value.version === STORAGE_VERSION && Array.isArray(value.conversations)) {
      conversations = value.conversations.flatMap((c) => (isSummary(c) ? [{ ...c, settings: normalizeSettings(c.settings) }] : []))
      currentId = typeof value.currentId === 'string' ? value.currentId : ''
    } else if (value !== undefined) {
      setAside(key)
    }
    if (conversations.length === 0) {
      const first = newConversation({ ...DEFAULT_SETTINGS })
      // The conversation of a page from before the list becomes the first of it.
      const legacy = attempt(() => storage?.getItem(LEGACY_STORAGE_KEY))
      if (legacy) {
        attempt(() => {
          storage?.setItem(turnsKey(first.id), legacy)
          storage?.removeItem(LEGACY_STORAGE_KEY)
        })
      }
      conversations = [first]
    }
    return { conversations, currentId: conversations.some((c) => c.id === currentId) ? currentId : conversations[0]!.id }
  }

  function loadTurns(id: string): ChatTurn[] {
    const value = read(turnsKey(id))
    if (value === undefined) return []
    if (!isRecord(value) || value.version !== STORAGE_VERSION || !Array.isArray(value.messages)) {
      setAside(turnsKey(id))
      return []
    }
    const turns = value.messages.filter(isChatTurn).map(withReadableTools)
    return turns.map((turn, index) =>
      // Only the last answer can still be running on the server (it is resumed); one that never
      // got its requestId is kept as it was.
      turn.status === 'streaming' && !(index === turns.length - 1 && turn.requestId) ? { ...turn, status: 'stopped' } : turn,
    )
  }

  return {
    loadList,
    saveList: (list) => write(key, { version: STORAGE_VERSION, currentId: list.currentId, conversations: list.conversations }),
    loadTurns,
    saveTurns(id, turns) {
      if (turns.length === 0) attempt(() => storage?.removeItem(turnsKey(id)))
      else write(turnsKey(id), { version: STORAGE_VERSION, messages: turns })
    },
    removeTurns: (id) => attempt(() => storage?.removeItem(turnsKey(id))),
  }
}

/** A new id for a conversation or a turn. */
export function newId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
}

export function newConversation(settings: ChatSettings): ConversationSummary {
  return { id: newId(), customTitle: '', autoTitle: '', createdAt: Date.now(), settings }
}

/** The answer of a conversation that was streaming when the page went away, if any: the one to resume. */
export function unfinishedAnswer(turns: readonly ChatTurn[]): (ChatTurn & { requestId: string }) | undefined {
  const last = turns.at(-1)
  return last?.role === 'assistant' && last.status === 'streaming' && last.requestId
    ? { ...last, requestId: last.requestId }
    : undefined
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function isSummary(value: unknown): value is ConversationSummary {
  if (!isRecord(value)) return false
  return (
    typeof value.id === 'string' &&
    value.id.length > 0 &&
    typeof value.customTitle === 'string' &&
    typeof value.autoTitle === 'string' &&
    typeof value.createdAt === 'number'
  )
}

function isChatTurn(value: unknown): value is ChatTurn {
  if (!isRecord(value)) return false
  const turn = value as Partial<ChatTurn>
  return (
    typeof turn.id === 'string' &&
    (turn.role === 'user' || turn.role === 'assistant') &&
    typeof turn.content === 'string' &&
    ['streaming', 'done', 'stopped', 'error'].includes(turn.status as string) &&
    (turn.requestId === undefined || typeof turn.requestId === 'string') &&
    (turn.lastEventId === undefined || Number.isInteger(turn.lastEventId)) &&
    (turn.maxTokens === undefined || Number.isInteger(turn.maxTokens))
  )
}

/** A tool call this page cannot read costs its card, never the answer it is in. */
function withReadableTools(turn: ChatTurn): ChatTurn {
  if (turn.tools === undefined) return turn
  if (!Array.isArray(turn.tools)) return { ...turn, tools: [] }
  const tools = turn.tools.filter(isToolCall)
  return tools.length === turn.tools.length ? turn : { ...turn, tools }
}

function isToolCall(value: unknown): value is ChatToolCall {
  if (!isRecord(value)) return false
  const call = value as Partial<ChatToolCall>
  return (
    typeof call.callId === 'string' &&
    typeof call.name === 'string' &&
    (call.arguments === null || isRecord(call.arguments)) &&
    Number.isInteger(call.at) &&
    (call.error === undefined || typeof call.error === 'string') &&
    (call.durationMs === undefined || typeof call.durationMs === 'number')
  )
}

// Storage can be unavailable (private mode, quota); the conversations still work in memory.
function attempt<T>(action: () => T): T | undefined {
  try {
    return action()
  } catch {
    return undefined
  }
}

function defaultStorage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage
  } catch {
    return null
  }
}
