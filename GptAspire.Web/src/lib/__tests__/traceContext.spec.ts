import { describe, expect, it } from 'vitest'
import { createTraceparent } from '../traceContext'

describe('createTraceparent', () => {
  it('makes a sampled W3C traceparent with fresh ids each time', () => {
    const first = createTraceparent()
    const second = createTraceparent()

    expect(first).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect(second.split('-')[1]).not.toBe(first.split('-')[1])
  })

  it('never sends the invalid all-zero ids', () => {
    const header = createTraceparent((bytes) => bytes)

    expect(header).toBe(`00-${'0'.repeat(31)}1-${'0'.repeat(15)}1-01`)
  })
})
