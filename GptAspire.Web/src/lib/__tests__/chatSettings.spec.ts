import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS, settingsInEffect } from '../chatSettings'

describe('settingsInEffect', () => {
  it('names nothing for the defaults (a blank system prompt is none)', () => {
    expect(settingsInEffect(DEFAULT_SETTINGS)).toEqual([])
    expect(settingsInEffect({ ...DEFAULT_SETTINGS, systemPrompt: '  \n' })).toEqual([])
  })

  it('names each setting that is not the default, with its value', () => {
    expect(settingsInEffect({ systemPrompt: 'Be brief.', temperature: 0, maxTokens: 1500 })).toEqual([
      'System prompt',
      'Temperature 0',
      'Maximum answer tokens 1,500',
    ])
  })
})
