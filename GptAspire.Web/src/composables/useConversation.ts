import { computed, onScopeDispose, shallowRef, watch, type ComputedRef, type Ref } from 'vue'
import { ChatEventName, type ChatMessageDto } from '@/api/chatEvents'
import { toChatRequest, type ChatSettings } from '@/lib/chatSettings'
import { answerText, toolEventCount } from '@/lib/answerParts'
import { createConversationStore, newId, unfinishedAnswer, type ChatTurn, type ConversationStore } from '@/lib/conversationStore'
import { useChatStream, type ChatStreamResult, type UseChatStreamOptions, type UseChatStreamReturn } from './useChatStream'

export type { ChatToolCall, ChatTurn, ChatTurnStatus } from '@/lib/conversationStore'

export interface UseConversationOptions
  extends Pick<UseChatStreamOptions, 'url' | 'fetch' | 'reconnectDelaysMs' | 'defaultHeartbeatSeconds'> {
  /**
   * Where the conversation survives a reload; `null` keeps it in memory only.
   * @default createConversationStore() (window.localStorage)
   */
  store?: ConversationStore | null
  /**
   * The conversation's id in the store.
   * @default 'default'
   */
  id?: string
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
  /** The last assistant message, whose numbers the status bar shows. */
  lastAssistantMessage: ComputedRef<ChatTurn | undefined>
  /**
   * The last answer's tokens and what is left of the context window: live while it streams, then
   * from its `usage`. `null` before its `start`, and for one that failed before its first token.
   */
  answerUsage: ComputedRef<{ tokens: number; remaining: number | null } | null>
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

const SAVE_INTERVAL_MS = 500

/** The conversation: messages, what is sent, persistence, retry and edit. */
export function useConversation(options: UseConversationOptions = {}): UseConversationReturn {
  const store = options.store === undefined ? createConversationStore() : options.store
  const id = options.id ?? 'default'

  const messages = shallowRef<readonly ChatTurn[]>(store?.loadTurns(id) ?? [])
  /** The assistant turn the stream's events belong to. */
  const streamingId = shallowRef<string | null>(null)

  const stream = useChatStream({
    url: options.url,
    fetch: options.fetch,
    reconnectDelaysMs: options.reconnectDelaysMs,
    defaultHeartbeatSeconds: options.defaultHeartbeatSeconds,
    onEvent(event) {
      if (!streamingId.value) return
      // The turn is the answer's only home: each token is appended here, once, with the id that
      // a reload resumes from (saved together, so the text and the position always agree).
      if (event.name === ChatEventName.Token) {
        const text = event.data.text
        update(streamingId.value, (turn) => ({ ...turn, content: turn.content + text, lastEventId: event.id }))
      } else if (event.name === ChatEventName.ToolCall) {
        // A card where the call happened in the answer: after the text so far. A call the server
        // sends again under another id shows once.
        const { callId, name } = event.data
        const args = event.data.arguments
        const call = { callId, name, arguments: typeof args === 'object' && !Array.isArray(args) ? args : null }
        update(streamingId.value, (turn) =>
          turn.tools?.some((c) => c.callId === callId)
            ? turn
            : { ...turn, tools: [...(turn.tools ?? []), { ...call, at: turn.content.length }], lastEventId: event.id },
        )
      } else if (event.name === ChatEventName.ToolResult) {
        const { callId, result, error, durationMs } = event.data
        const outcome = typeof error === 'string' ? { error } : { result: result ?? null }
        update(streamingId.value, (turn) => ({
          ...turn,
          tools: turn.tools?.map((c) => (c.callId === callId ? { ...c, ...outcome, durationMs } : c)),
          lastEventId: event.id,
        }))
      } else if (event.name === ChatEventName.Start) {
        const { requestId, maxTokens, model, remainingTokens } = event.data
        update(streamingId.value, (turn) => ({
          ...turn,
          requestId,
          model,
          remainingAtStart: remainingTokens,
          // A resume replays `start`: its id (0) does not move the position back.
          lastEventId: Math.max(turn.lastEventId ?? -1, event.id),
          ...(maxTokens ? { maxTokens } : {}),
        }))
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

  const answerUsage = computed(() => {
    const turn = lastAssistantMessage.value
    if (!turn) return null
    if (turn.usage) return { tokens: turn.usage.completionTokens, remaining: turn.usage.remainingTokens }
    if (turn.lastEventId === undefined) return null
    // Event ids number the stream from `start` (0): the id of the latest event, less the tool
    // calls' events, is the count of tokens so far.
    const tokens = Math.max(0, turn.lastEventId - toolEventCount(turn))
    if (tokens === 0 && turn.status !== 'streaming') return null
    // Kept with the answer from its `start`: a reload that resumes past `start` still knows it.
    const atStart = turn.remainingAtStart
    return { tokens, remaining: atStart !== undefined ? Math.max(0, atStart - tokens) : null }
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
      .map((turn) => ({ role: turn.role, content: answerText(turn) }))
  }

  async function answer(): Promise<ChatStreamResult> {
    const request = toChatRequest(history(), options.settings?.())
    const turn: ChatTurn = { id: newId(), role: 'assistant', content: '', status: 'streaming' }
    messages.value = [...messages.value, turn]
    streamingId.value = turn.id
    return settle(turn.id, await stream.send(request))
  }

  /** Streams the rest of an answer that was running when the page was reloaded. */
  async function resumeAnswer(turn: ChatTurn & { requestId: string }): Promise<ChatStreamResult> {
    streamingId.value = turn.id
    return settle(turn.id, await stream.resume(turn.requestId, turn.lastEventId ?? -1))
  }

  /** Records how the answer ended; its text is already in the turn. */
  function settle(turnId: string, result: ChatStreamResult): ChatStreamResult {
    if (streamingId.value === turnId) streamingId.value = null
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
    if (streamingId.value) {
      update(streamingId.value, (turn) => ({ ...turn, status: 'stopped' }))
      streamingId.value = null
    }
  }

  function clear() {
    stream.reset()
    streamingId.value = null
    messages.value = []
    store?.removeTurns(id)
  }

  // Persistence: at once when idle; at most every SAVE_INTERVAL_MS while tokens stream in,
  // plus on pagehide so a reload mid-answer keeps what had arrived.
  let saveTimer: ReturnType<typeof setTimeout> | undefined
  function save() {
    clearTimeout(saveTimer)
    saveTimer = undefined
    store?.saveTurns(id, messages.value)
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

  const unfinished = unfinishedAnswer(messages.value)
  if (unfinished) void resumeAnswer(unfinished)

  return {
    messages,
    stream,
    isStreaming,
    lastUserMessage,
    lastAssistantMessage,
    answerUsage,
    send,
    retry,
    editLastUserMessage,
    stop,
    clear,
  }
}
