import type { RunEventV1 } from '@skreaver/contracts';

import { RunTimeline } from './run-timeline';

const RUN = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';
const OTHER = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';

function event(seq: number, type: 'run.queued' | 'run.started' | 'run.completed' = 'run.started', runId = RUN): RunEventV1 {
  const base = { id: `${runId}:${seq}`, run_id: runId, agent_id: OTHER, tenant_id: 'default', seq, ts: '2026-12-06T00:00:00.000Z' };
  if (type === 'run.queued') return { ...base, type, data: { input: null } };
  if (type === 'run.completed') return { ...base, type, data: { output: null } } as RunEventV1;
  return { ...base, type, data: { attempt: 1, worker: 'w' } };
}

describe(RunTimeline.name, () => {
  it('should keep each seq once, in order, whichever way it arrived', () => {
    const sut = new RunTimeline(RUN);
    expect(sut.add(event(2))).toBe(true);
    expect(sut.add(event(1, 'run.queued'))).toBe(true);
    expect(sut.add(event(2))).toBe(false);
    expect(sut.add(event(1, 'run.queued', OTHER))).toBe(false);
    expect(sut.events().map((e) => e.seq)).toEqual([1, 2]);
  });

  it('should resume reading the log after the last event with none missing before it', () => {
    const sut = new RunTimeline(RUN);
    expect(sut.resumeAfter).toBeUndefined();
    sut.add(event(1, 'run.queued'));
    sut.add(event(3));
    expect(sut.resumeAfter).toBe(`${RUN}:1`);
    expect(sut.lastId).toBe(`${RUN}:3`);
    sut.add(event(2));
    expect(sut.resumeAfter).toBe(`${RUN}:3`);
  });

  it('should end with the run\'s terminal event', () => {
    const sut = new RunTimeline(RUN);
    sut.add(event(1, 'run.queued'));
    expect(sut.ended).toBe(false);
    sut.add(event(2, 'run.completed'));
    expect(sut.ended).toBe(true);
  });
});
