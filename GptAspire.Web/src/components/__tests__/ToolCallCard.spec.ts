import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ToolCallCard from '../ToolCallCard.vue'
import type { ChatToolCall } from '@/composables/useConversation'
import type { ToolCallStatus } from '@/lib/answerParts'

const time: ChatToolCall = { callId: 'c1', name: 'get_current_time', arguments: { timeZone: 'Asia/Tokyo' }, at: 0 }

const card = (call: ChatToolCall, status: ToolCallStatus) => mount(ToolCallCard, { props: { call, status } })
const summary = (w: ReturnType<typeof card>) => w.get('summary').text().replace(/\s+/g, ' ')

describe('ToolCallCard', () => {
  it('is collapsed, naming the tool and its arguments, with a spinner and Running… announced politely', () => {
    const w = card(time, 'running')

    expect(w.get('details').attributes('open')).toBeUndefined()
    expect(summary(w)).toBe('get_current_time, timeZone: "Asia/Tokyo", Running…')
    expect(w.find('.tool-call__spinner').exists()).toBe(true)
    expect(w.get('[data-testid="tool-call-status"]').attributes('aria-live')).toBe('polite')
    expect(w.get('details').attributes()).toMatchObject({ 'data-tool-call': 'c1', 'data-tool-name': 'get_current_time', 'data-tool-status': 'running' })
  })

  it('says how long a finished call took, or that it failed and why, with no spinner', () => {
    const done = card({ ...time, result: { localTime: '21:04' }, durationMs: 1234 }, 'done')
    const failed = card({ ...time, error: 'Unknown time zone.', durationMs: 2 }, 'error')
    const interrupted = card(time, 'interrupted')

    expect(summary(done)).toContain('Done in 1,234 ms')
    expect(summary(failed)).toContain('Failed: Unknown time zone.')
    expect(failed.get('[data-testid="tool-call-error"]').text()).toBe('Unknown time zone.')
    expect(summary(interrupted)).toContain('Interrupted')
    for (const w of [done, failed, interrupted]) expect(w.find('.tool-call__spinner').exists()).toBe(false)
  })

  it('opens on its summary to show the arguments and the result as formatted JSON, as text', async () => {
    const result = { html: '<img src=x onerror=alert(1)>', value: 58.5 }
    const w = card({ ...time, result, durationMs: 5 }, 'done')

    await w.get('summary').trigger('click')

    expect(w.get('details').element.open).toBe(true)
    expect(w.get('[data-testid="tool-call-arguments"]').text()).toBe(JSON.stringify(time.arguments, null, 2))
    expect(w.get('[data-testid="tool-call-result"]').text()).toBe(JSON.stringify(result, null, 2))
    expect(w.find('img').exists()).toBe(false)
  })

  it('is one Tab stop: its summary, and nothing inside it', () => {
    const w = card({ ...time, result: { link: 'https://example.com' }, durationMs: 5 }, 'done')

    const focusable = w.element.querySelectorAll('summary, a[href], button, input, [tabindex]')
    expect([...focusable].map((el) => el.tagName)).toEqual(['SUMMARY'])
  })

  it('shortens long arguments in the summary and says when they were not valid JSON', () => {
    const long = card({ ...time, name: 'calculate', arguments: { expression: '1+'.repeat(60) + '1' } }, 'running')
    const invalid = card({ ...time, arguments: null }, 'running')

    expect(long.get('[data-testid="tool-call-args"]').text()).toMatch(/^expression: "1\+1\+.{40,}…$/)
    expect(long.get('[data-testid="tool-call-args"]').text().length).toBe(60)
    expect(summary(invalid)).toContain('arguments not a JSON object')
    expect(invalid.get('[data-testid="tool-call-arguments"]').text()).toBe('Not valid JSON.')
  })
})
