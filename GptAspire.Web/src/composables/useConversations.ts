import {
  computed,
  effectScope,
  hasInjectionContext,
  inject,
  onScopeDispose,
  shallowRef,
  watch,
  type ComputedRef,
  type EffectScope,
  type Ref,
} from 'vue'
import { DEFAULT_SETTINGS, normalizeSettings, type ChatSettings } from '@/lib/chatSettings'
import {
  createConversationStore,
  newConversation,
  unfinishedAnswer,
  type ChatTurn,
  type ConversationStoreOptions,
  type ConversationSummary,
} from '@/lib/conversationStore'
import { chatStreamDefaultsKey } from './useChatStream'
import { useConversation, type UseConversationOptions, type UseConversationReturn } from './useConversation'

export type { ConversationSummary } from '@/lib/conversationStore'

export interface UseConversationsOptions extends Pick<UseConversationOptions, 'url' | 'fetch'> {
  /**
   * Where the conversations survive a reload (`storage: null` keeps them in memory only).
   * @default window.localStorage, key 'gptaspire.conversations'
   */
  storage?: ConversationStoreOptions['storage']
  storageKey?: ConversationStoreOptions['key']
}

export interface UseConversationsReturn {
  /** Every conversation, newest first. Replaced (never mutated) on every change. */
  conversations: Readonly<Ref<readonly ConversationSummary[]>>
  /** Id of the conversation on screen. */
  currentId: Readonly<Ref<string>>
  /** The conversation on screen, with its messages and stream. */
  current: Readonly<Ref<UseConversationReturn>>
  /** Its summary (title, settings). */
  currentSummary: ComputedRef<ConversationSummary>
  /** Ids of the conversations whose answer is streaming (a conversation keeps streaming when it is not on screen). */
  streamingIds: ComputedRef<ReadonlySet<string>>
  /** Shows a new, empty conversation with the current one's settings; an empty current one is reused. */
  create: () => void
  /** Shows another conversation. */
  select: (id: string) => void
  /** Names a conversation; a blank name goes back to its first question. */
  rename: (id: string, title: string) => void
  /** Deletes a conversation and its messages (stopping its answer); the next one is shown. */
  remove: (id: string) => void
  /** Changes a conversation's settings; its next request uses them. */
  updateSettings: (id: string, settings: Partial<ChatSettings>) => void
}

const TITLE_LENGTH = 60

/** The name shown for a conversation. */
export function conversationTitle(summary: Pick<ConversationSummary, 'customTitle' | 'autoTitle'>): string {
  return summary.customTitle || summary.autoTitle || 'New chat'
}

/**
 * Several conversations kept in browser storage: the list (titles, settings) under one key, each
 * conversation's messages under its own, so a token only ever rewrites its own conversation.
 * Hands one {@link useConversation} at a time to the page; the others are opened when shown, and
 * one whose answer is still streaming keeps streaming into its own messages.
 */
export function useConversations(options: UseConversationsOptions = {}): UseConversationsReturn {
  const store = createConversationStore({ storage: options.storage, key: options.storageKey })
  // Conversations are opened later, from event handlers, where inject() no longer works.
  const defaults = hasInjectionContext() ? inject(chatStreamDefaultsKey, {}) : {}
  const url = options.url ?? defaults.url
  const fetchImpl = options.fetch ?? defaults.fetch

  const stored = store.loadList()
  const conversations = shallowRef<readonly ConversationSummary[]>(stored.conversations)
  const currentId = shallowRef(stored.currentId)

  interface Opened {
    scope: EffectScope
    conversation: UseConversationReturn
  }
  const opened = new Map<string, Opened>()
  // Bumped when a conversation is opened or closed, for `streamingIds` (the Map is not reactive).
  const openedVersion = shallowRef(0)

  const summaryOf = (id: string) => conversations.value.find((c) => c.id === id)

  function update(id: string, change: (summary: ConversationSummary) => ConversationSummary) {
    conversations.value = conversations.value.map((c) => (c.id === id ? change(c) : c))
  }

  function open(id: string): UseConversationReturn {
    const existing = opened.get(id)
    if (existing) return existing.conversation
    const scope = effectScope(true)
    const conversation = scope.run(() => {
      const conversation = useConversation({
        url,
        fetch: fetchImpl,
        store,
        id,
        settings: () => summaryOf(id)?.settings ?? { ...DEFAULT_SETTINGS },
      })
      // The title follows the first question (a token never changes it: the getter is cheap).
      watch(
        () => firstQuestion(conversation.messages.value),
        (question) => {
          const autoTitle = shorten(question)
          if (summaryOf(id)?.autoTitle !== autoTitle) update(id, (c) => ({ ...c, autoTitle }))
        },
        { immediate: true },
      )
      return conversation
    })!
    opened.set(id, { scope, conversation })
    openedVersion.value++
    return conversation
  }

  const current = shallowRef(open(currentId.value))
  // An answer that was streaming when the page went away resumes when its conversation opens, and
  // the server gives up on an answer nobody reads: open those conversations now, not when shown.
  for (const { id } of conversations.value) if (id !== currentId.value && unfinishedAnswer(store.loadTurns(id))) open(id)
  const currentSummary = computed(() => summaryOf(currentId.value) ?? conversations.value[0]!)

  const streamingIds = computed<ReadonlySet<string>>(() => {
    void openedVersion.value
    const ids = new Set<string>()
    for (const [id, { conversation }] of opened) if (conversation.isStreaming.value) ids.add(id)
    return ids
  })

  function select(id: string) {
    if (!summaryOf(id)) return
    currentId.value = id
    current.value = open(id)
  }

  function create() {
    if (current.value.messages.value.length === 0 && !current.value.isStreaming.value) return
    const summary = newConversation({ ...currentSummary.value.settings })
    conversations.value = [summary, ...conversations.value]
    select(summary.id)
  }

  function rename(id: string, title: string) {
    update(id, (c) => ({ ...c, customTitle: title.trim() }))
  }

  function remove(id: string) {
    const index = conversations.value.findIndex((c) => c.id === id)
    if (index < 0) return
    const entry = opened.get(id)
    if (entry) {
      entry.conversation.clear()
      entry.scope.stop()
      opened.delete(id)
      openedVersion.value++
    }
    store.removeTurns(id)

    const rest = conversations.value.filter((c) => c.id !== id)
    if (rest.length === 0) rest.push(newConversation({ ...DEFAULT_SETTINGS }))
    conversations.value = rest
    if (currentId.value === id) select((rest[index] ?? rest[index - 1] ?? rest[0]!).id)
  }

  function updateSettings(id: string, settings: Partial<ChatSettings>) {
    update(id, (c) => ({ ...c, settings: normalizeSettings({ ...c.settings, ...settings }) }))
  }

  // The list is small and changes on a person's action (or a first question), never per token:
  // it is saved at once, so that nothing is lost when the page goes away right after.
  const save = () => store.saveList({ conversations: [...conversations.value], currentId: currentId.value })
  watch([conversations, currentId], save, { flush: 'sync' })
  save()

  onScopeDispose(() => {
    for (const { scope } of opened.values()) scope.stop()
    opened.clear()
  })

  return {
    conversations,
    currentId,
    current,
    currentSummary,
    streamingIds,
    create,
    select,
    rename,
    remove,
    updateSettings,
  }
}

function firstQuestion(messages: readonly ChatTurn[]): string {
  for (const turn of messages) if (turn.role === 'user') return turn.content
  return ''
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length <= TITLE_LENGTH ? line : `${line.slice(0, TITLE_LENGTH - 1).trimEnd()}…`
}
