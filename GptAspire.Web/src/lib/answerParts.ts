/**
 * An answer as it is shown: its text and its tool calls in the order they happened. The text is kept
 * once, in the turn's `content`; each call only marks where in it it happened (`at`).
 */
import type { ChatToolCall, ChatTurn, ChatTurnStatus } from './conversationStore'

export type AnswerPart =
  /** `start`: where the text begins in `content` (stable while the answer streams: a key). */
  | { kind: 'text'; text: string; start: number }
  | { kind: 'tool'; call: ChatToolCall }

/** `interrupted`: the answer ended (stopped, failed, cut) before the tool's result came. */
export type ToolCallStatus = 'running' | 'done' | 'error' | 'interrupted'

/** The answer's text and tool calls, in order; no text part for an empty stretch between calls. */
export function answerParts(turn: Pick<ChatTurn, 'content' | 'tools'>): AnswerPart[] {
  const { content } = turn
  const parts: AnswerPart[] = []
  let start = 0
  for (const call of turn.tools ?? []) {
    const at = Math.min(Math.max(call.at, start), content.length)
    if (at > start) parts.push({ kind: 'text', text: content.slice(start, at), start })
    parts.push({ kind: 'tool', call })
    start = at
  }
  if (start < content.length) parts.push({ kind: 'text', text: content.slice(start), start })
  return parts
}

/**
 * The answer's words, for copying or sending back to the model: the text around tool calls comes
 * from separate model replies, so each stretch is its own paragraph.
 */
export function answerText(turn: Pick<ChatTurn, 'content' | 'tools'>): string {
  if (!turn.tools?.length) return turn.content
  return answerParts(turn)
    .flatMap((part) => (part.kind === 'text' && part.text.trim() ? [part.text.trim()] : []))
    .join('\n\n')
}

export function toolCallStatus(call: ChatToolCall, answer: ChatTurnStatus): ToolCallStatus {
  if (call.error !== undefined) return 'error'
  if (call.durationMs !== undefined) return 'done'
  return answer === 'streaming' ? 'running' : 'interrupted'
}

/** How many events of the stream the answer's tool calls took (a call, and its result once it came). */
export function toolEventCount(turn: Pick<ChatTurn, 'tools'>): number {
  return (turn.tools ?? []).reduce((count, call) => count + (call.durationMs === undefined ? 1 : 2), 0)
}
