import { describe, expect, it } from 'vitest'
import { routeOf } from '../telemetry.mjs'

describe('routeOf: the route a span is named by', () => {
  it.each([
    ['/api/chat/stream', '/api/chat/stream'],
    ['/api/chat/stream/3f2a9c', '/api/chat/stream/{requestId}'],
    ['/api/chat/stream/3f2a9c?lastEventId=4', '/api/chat/stream/{requestId}'],
    ['/api/chat/stream/3f2a9c/stop', '/api/chat/stream/{requestId}/stop'],
    ['/api/info', '/api/info'],
    ['/api/anything/else', '/api/*'],
    ['/health', '/health'],
    ['/assets/index-4f2a.js', '/assets/*'],
    ['/', '/*'],
    ['/some/client/route', '/*'],
  ])('%s -> %s', (path, route) => {
    expect(routeOf(path)).toBe(route)
  })
})
