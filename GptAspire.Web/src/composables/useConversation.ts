import { computed, onScopeDispose, shallowRef, watch, type ComputedRef, type Ref } from 'vue'
import { ChatEventName, type ChatMessageDto, type FinishReason, type UsageEventData } from '@/api/chatEvents'
import { toChatRequest, type ChatSettings } from '@/lib/chatSettings'
import {
  useChatStream,
  type ChatStreamError,
  type ChatStreamResult,
  type UseChatStreamOptions,
  type UseChatStreamReturn,
} from './useChatStream'

export type ChatTurnStatus = 'streaming' | 'done' | 'stopped' | 'error'

/** One message of the conversation as the page keeps (and stores) it. */
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
}

export interface UseConversationOptions
  extends Pick<UseChatStreamOptions, 'url' | 'fetch' | 'reconnectDelaysMs' | 'defaultHeartbeatSeconds'> {
  /**
   * Where the conversation survives a reload; `null` keeps it in memory only.
   * @default window.localStorage
   */
  storage?: Storage | null
  /** @default 'gptaspire.conversation' */
  storageKey?: string
  /** The conversation's settings (system prompt, temperature, answer length), read for each request. */
  settings?: () => ChatSettings
}

export interface UseConversationReturn {
  /** The conversation, oldest first. Replaced (never mutated) on every change. */
  messages: Readonly<Ref<readonly ChatTurn[]>>
  /** The stream of the latest answer: live usage, field errors, status. */
  stream: UseChatStreamReturn
  /** `true` while an answer is being requested or streamed. */
  isStreaming: ComputedRef<boolean>
  /** The last user message, the one that can be edited and sent again. */
  lastUserMessage: ComputedRef<ChatTurn | undefined>
  /** The last assistant message, whose outcome the status bar shows. */
  lastAssistantMessage: ComputedRef<ChatTurn | undefined>
  /**
   * Sends a new user message with the conversation so far. Resolves with the stream's result,
   * or `null` when nothing was sent (empty text, or an answer still streaming). When the API
   * rejects the request (ProblemDetails), the user message is taken back out of the thread.
   */
  send: (text: string) => Promise<ChatStreamResult | null>
  /** Sends the same conversation again, replacing the failed or stopped last answer. */
  retry: () => Promise<ChatStreamResult | null>
  /** Replaces the last user message, drops what followed it and asks again. */
  editLastUserMessage: (text: string) => Promise<ChatStreamResult | null>
  /** Stops the answer being streamed, on the server too; its partial text is kept, marked `stopped`. */
  stop: () => void
  /** New chat: stops any answer and forgets the conversation (also in storage). */
  clear: () => void
}

const STORAGE_VERSION = 1
const SAVE_INTERVAL_MS = 500

/** The conversation: messages, what is sent, persistence, retry and edit. */
export function useConversation(options: UseConversationOptions = {}): UseConversationReturn {
  const storage = options.storage === undefined ? defaultStorage() : options.storage
  const storageKey = options.storageKey ?? 'gptaspire.conversation'

  const messages = shallowRef<readonly ChatTurn[]>(load())
  /** The assistant turn the stream's events belong to. */
  let streamingId: string | null = null

  const stream = useChatStream({
    url: options.url,
    fetch: options.fetch,
    reconnectDelaysMs: options.reconnectDelaysMs,
    defaultHeartbeatSeconds: options.defaultHeartbeatSeconds,
    onEvent(event) {
      if (!streamingId) return
      // The turn is the answer's only home: each token is appended here, once, with the id that
      // a reload resumes from (saved together, so the text and the position always agree).
      if (event.name === ChatEventName.Token) {
        const text = event.data.text
        update(streamingId, (turn) => ({ ...turn, content: turn.content + text, lastEventId: event.id }))
      } else if (event.name === ChatEventName.Start) {
        const requestId = event.data.requestId
        update(streamingId, (turn) => ({ ...turn, requestId, lastEventId: event.id }))
      }
    },
  })

  const isStreaming = computed(() => stream.isActive.value)
  const lastUserMessage = computed(() => {
    for (let i = messages.value.length - 1; i >= 0; i--) {
      if (messages.value[i]?.role === 'user') return messages.value[i]
    }
    return undefined
  })
  const lastAssistantMessage = computed(() => {
    const last = messages.value.at(-1)
    return last?.role === 'assistant' ? last : undefined
  })

  function update(id: string, change: (turn: ChatTurn) => ChatTurn) {
    // Runs per token: the streaming turn is the last one, so look from the end and copy once.
    const list = messages.value
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.id === id) {
        const next = list.slice()
        next[i] = change(list[i]!)
        messages.value = next
        return
      }
    }
  }

  function remove(...ids: string[]) {
    messages.value = messages.value.filter((turn) => !ids.includes(turn.id))
  }

  /** Completed turns only: a stopped or failed partial answer is not sent back to the model. */
  function history(): ChatMessageDto[] {
    return messages.value
      .filter((turn) => turn.role === 'user' || turn.status === 'done')
      .map(({ role, content }) => ({ role, content }))
  }

  async function answer(): Promise<ChatStreamResult> {
    const request = toChatRequest(history(), options.settings?.())
    const turn: ChatTurn = { id: newId(), role: 'assistant', content: '', status: 'streaming' }
    messages.value = [...messages.value, turn]
    streamingId = turn.id
    return settle(turn.id, await stream.send(request))
  }

  /** Streams the rest of an answer that was running when the page was reloaded. */
  async function resumeAnswer(turn: ChatTurn & { requestId: string }): Promise<ChatStreamResult> {
    streamingId = turn.id
    return settle(turn.id, await stream.resume(turn.requestId, turn.lastEventId ?? -1))
  }

  /** Records how the answer ended; its text is already in the turn. */
  function settle(turnId: string, result: ChatStreamResult): ChatStreamResult {
    if (streamingId === turnId) streamingId = null
    if (result.error?.code === 'invalid_request') {
      remove(turnId)
    } else {
      update(turnId, (t) => ({
        ...t,
        status: result.status,
        finishReason: result.finishReason ?? undefined,
        error: result.error ?? undefined,
        usage: result.usage ?? undefined,
      }))
    }
    return result
  }

  async function send(text: string) {
    const content = text.trim()
    if (!content || isStreaming.value) return null
    const turn: ChatTurn = { id: newId(), role: 'user', content, status: 'done' }
    messages.value = [...messages.value, turn]
    const result = await answer()
    // Rejected input goes back to the composer (the view restores the draft) to be fixed.
    if (result.error?.code === 'invalid_request') remove(turn.id)
    return result
  }

  async function retry() {
    if (isStreaming.value) return null
    const last = messages.value.at(-1)
    if (last?.role === 'assistant' && last.status !== 'done') remove(last.id)
    if (messages.value.at(-1)?.role !== 'user') return null
    return answer()
  }

  async function editLastUserMessage(text: string) {
    const content = text.trim()
    const target = lastUserMessage.value
    if (!content || !target || isStreaming.value) return null
    const index = messages.value.indexOf(target)
    messages.value = [...messages.value.slice(0, index), { ...target, content }]
    return answer()
  }

  function stop() {
    stream.stop()
    // The stream may take a moment to let go (a stop before `start`); the answer stops now.
    if (streamingId) {
      update(streamingId, (turn) => ({ ...turn, status: 'stopped' }))
      streamingId = null
    }
  }

  function clear() {
    stream.reset()
    streamingId = null
    messages.value = []
    try {
      storage?.removeItem(storageKey)
    } catch {
      // Storage can be unavailable (private mode, quota); the chat still works in memory.
    }
  }

  // Persistence: at once when idle; at most every SAVE_INTERVAL_MS while tokens stream in,
  // plus on pagehide so a reload mid-answer keeps what had arrived.
  let saveTimer: ReturnType<typeof setTimeout> | undefined
  function save() {
    clearTimeout(saveTimer)
    saveTimer = undefined
    if (!storage) return
    try {
      if (messages.value.length === 0) storage.removeItem(storageKey)
      else storage.setItem(storageKey, JSON.stringify({ version: STORAGE_VERSION, messages: messages.value }))
    } catch {
      // See clear().
    }
  }
  watch(messages, () => {
    if (!isStreaming.value) save()
    else saveTimer ??= setTimeout(save, SAVE_INTERVAL_MS)
  })
  if (typeof window !== 'undefined') {
    window.addEventListener('pagehide', save)
    onScopeDispose(() => window.removeEventListener('pagehide', save))
  }
  onScopeDispose(save)

  function load(): ChatTurn[] {
    try {
      const raw = storage?.getItem(storageKey)
      if (!raw) return []
      const stored = JSON.parse(raw) as { version?: number; messages?: unknown }
      if (stored.version !== STORAGE_VERSION || !Array.isArray(stored.messages)) return []
      const turns = stored.messages.filter(isChatTurn)
      return turns.map((turn, index) =>
        // Only the last answer can still be running on the server (resumed below); one that
        // never got its requestId is kept as it was.
        turn.status === 'streaming' && !(index === turns.length - 1 && turn.requestId)
          ? { ...turn, status: 'stopped' }
          : turn,
      )
    } catch {
      return []
    }
  }

  const unfinished = messages.value.at(-1)
  if (unfinished?.role === 'assistant' && unfinished.status === 'streaming' && unfinished.requestId) {
    void resumeAnswer({ ...unfinished, requestId: unfinished.requestId })
  }

  return {
    messages,
    stream,
    isStreaming,
    lastUserMessage,
    lastAssistantMessage,
    send,
    retry,
    editLastUserMessage,
    stop,
    clear,
  }
}

function defaultStorage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage
  } catch {
    return null
  }
}

function isChatTurn(value: unknown): value is ChatTurn {
  if (typeof value !== 'object' || value === null) return false
  const turn = value as Partial<ChatTurn>
  return (
    typeof turn.id === 'string' &&
    (turn.role === 'user' || turn.role === 'assistant') &&
    typeof turn.content === 'string' &&
    ['streaming', 'done', 'stopped', 'error'].includes(turn.status as string) &&
    (turn.requestId === undefined || typeof turn.requestId === 'string') &&
    (turn.lastEventId === undefined || Number.isInteger(turn.lastEventId))
  )
}

let counter = 0
function newId(): string {
  return `${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}
