import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ChatComposer from '../ChatComposer.vue'


describe('ChatComposer', () => {
  it('labels the textarea', () => {
    const w = mount(ChatComposer, { props: { busy: false, modelValue: '' } })
    const textarea = w.get('[data-testid="composer-input"]')
    expect(w.get(`label[for="${textarea.attributes('id')}"]`).text()).toBe('Your message')
  })

  it('sends on Enter, not on Shift+Enter, and not when empty', async () => {
    const w = mount(ChatComposer, { props: { busy: false, modelValue: 'Hi' } })
    const textarea = w.get('[data-testid="composer-input"]')

    await textarea.trigger('keydown', { key: 'Enter', shiftKey: true })
    expect(w.emitted('submit')).toBeUndefined()
    await textarea.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('submit')).toHaveLength(1)

    await w.setProps({ modelValue: '   ' })
    await textarea.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('submit')).toHaveLength(1)
    expect(w.get('[data-testid="send-button"]').attributes('disabled')).toBeDefined()
  })

  it('shows Stop while busy; Esc and the button emit stop', async () => {
    const w = mount(ChatComposer, { props: { busy: true, modelValue: '' } })

    expect(w.find('[data-testid="send-button"]').exists()).toBe(false)
    await w.get('[data-testid="stop-button"]').trigger('click')
    await w.get('[data-testid="composer-input"]').trigger('keydown', { key: 'Escape' })

    expect(w.emitted('stop')).toHaveLength(2)
  })

  it('lists field errors with readable field names and links them to the textarea', () => {
    const w = mount(ChatComposer, {
      props: {
        busy: false,
        modelValue: 'x',
        fieldErrors: { 'messages[2].content': ['Content must not be empty.'], maxTokens: ['Out of range.'] },
      },
    })

    expect(w.findAll('[data-testid="field-error"]').map((e) => e.text())).toEqual([
      'Message 3: Content must not be empty.',
      'Maximum answer tokens: Out of range.',
    ])
    const textarea = w.get('[data-testid="composer-input"]')
    expect(textarea.attributes('aria-invalid')).toBe('true')
    const describedBy = textarea.attributes('aria-describedby')?.split(' ') ?? []
    expect(w.find(`#${describedBy[0]}`).findAll('[data-testid="field-error"]')).toHaveLength(2)
  })
})
