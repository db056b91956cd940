import { WsClientEnvelopeV1, WsServerFrameV1 } from './plain-ws-frames.v1';

describe('WsServerFrameV1', () => {
  it.each([
    ['an ack', { type: 'ack', id: 1, ok: true, room: 't:default:agent:x' }],
    ['a failed ack', { type: 'ack', ok: false, error: { code: 'too_many_subscriptions', message: 'm' } }],
    ['an error', { type: 'error', id: 'a', code: 'invalid_json', message: 'm' }],
    ['a pong', { type: 'pong', ts: '2026-01-01T00:00:00.000Z' }],
    ['a reconnect hint', { type: 'reconnect', reason: 'shutting_down', message: 'm', retry_after_ms: 10 }],
  ])('should parse %s', (_label, frame) => {
    expect(WsServerFrameV1.parse(frame)).toEqual(frame);
  });

  it('should refuse an error with an unknown code', () => {
    expect(WsServerFrameV1.safeParse({ type: 'error', code: 'oops', message: 'm' }).success).toBe(false);
  });
});

describe('WsClientEnvelopeV1', () => {
  it('should keep the request fields next to type and id', () => {
    expect(WsClientEnvelopeV1.parse({ type: 'subscribe', id: 'x', agent_id: 'a' })).toEqual({ type: 'subscribe', id: 'x', agent_id: 'a' });
  });
});
