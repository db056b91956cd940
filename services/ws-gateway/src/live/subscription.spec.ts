import { runEventId } from '@skreaver/contracts';
import type { RunEventV1 } from '@skreaver/contracts';

import { EventFrame } from './event-frame';
import { LiveSession } from './live-session';
import type { SessionTransport } from './live-session';
import { compareStreamIds } from './stream-ids';
import { Subscription } from './subscription';
import type { LiveEntry } from './subscription';
import { WebsocketMetrics } from './websocket-metrics';

const RUN = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';
const AGENT = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';
const transport: SessionTransport = {
  kind: 'ws',
  sendEvent: () => undefined,
  sendMesh: () => undefined,
  sendError: () => undefined,
  bufferedBytes: () => 0,
  closeWithError: () => undefined,
  closeForRestart: () => undefined,
  terminate: () => undefined,
};
const principal = { subject: 'key:abcdefghij', role: 'viewer', tenant_id: 'default', via: 'jwt' } as const;
const openSession = new LiveSession('s1', principal, '127.0.0.1', transport, { maxBufferedBytes: 1024, metrics: new WebsocketMetrics(), release: () => undefined, handshakeDone: () => undefined });

function entry(seq: number, entryId = `${1000 + seq}-0`): LiveEntry {
  const event = {
    id: runEventId(RUN, seq),
    run_id: RUN,
    agent_id: AGENT,
    tenant_id: 'default',
    seq,
    ts: new Date(0).toISOString(),
    type: 'run.started',
    data: { attempt: 1, worker: 'w' },
  } satisfies RunEventV1;
  return { id: entryId, event, frame: new EventFrame(event) };
}

describe(Subscription.name, () => {
  it('should deliver live entries in order and skip a repeated one', () => {
    const sut = new Subscription(openSession, 'room', { kind: 'agent', id: AGENT });
    expect([entry(1), entry(2), entry(2), entry(3)].map((e) => sut.offer(e))).toEqual(['deliver', 'deliver', 'skip', 'deliver']);
  });

  it('should hold live entries during a replay and release only those past it', () => {
    const sut = new Subscription(openSession, 'room', { kind: 'run', id: RUN });
    sut.holdLive();
    sut.resumeAfter({ afterSeq: 2 });
    expect([entry(4), entry(5)].map((e) => sut.offer(e))).toEqual(['held', 'held']);
    // The replay read the log up to seq 4.
    expect([3, 4].map((seq) => sut.advance(entry(seq).event))).toEqual([true, true]);
    const released = sut.takeHeld().filter((held) => sut.advance(held.event, held.id));
    expect(released.map((held) => held.event.seq)).toEqual([5]);
    expect(sut.takeHeld()).toEqual([]);
    sut.goLive();
    expect([entry(5), entry(6)].map((e) => sut.offer(e))).toEqual(['skip', 'deliver']);
  });

  it('should order agent subscriptions by global-stream position, not by seq', () => {
    const sut = new Subscription(openSession, 'room', { kind: 'agent', id: AGENT });
    sut.resumeAfter({ afterEntryId: '1005-0' });
    expect(sut.offer(entry(9, '1005-0'))).toBe('skip');
    expect(sut.offer(entry(1, '1005-1'))).toBe('deliver');
  });

  it('should report an overflow when a replay falls too far behind, and skip everything once closed', () => {
    const sut = new Subscription(openSession, 'room', { kind: 'agent', id: AGENT });
    sut.holdLive();
    for (let i = 0; i < 10_000; i++) sut.offer(entry(1, `${i}-0`));
    expect(sut.offer(entry(1, '99999-0'))).toBe('overflow');
    sut.close();
    expect(sut.offer(entry(2, '100000-0'))).toBe('skip');
  });
});

describe(compareStreamIds.name, () => {
  it('should compare milliseconds first, then the sequence, numerically', () => {
    expect(compareStreamIds('999-5', '1000-0')).toBeLessThan(0);
    expect(compareStreamIds('1000-10', '1000-9')).toBeGreaterThan(0);
    expect(compareStreamIds('1000-0', '1000-0')).toBe(0);
  });
});
