import type { RunJobV1 } from '@skreaver/contracts';
import { ContractViolationError } from '@skreaver/messaging';
import { FIXTURE_IDS } from '@skreaver/testing';

import { InProcessRunQueue } from './in-process-run-queue';
import type { RunJobAttempt } from './in-process-run-queue';

const runId = (n: number) => `${FIXTURE_IDS.run.slice(0, -4)}${String(n).padStart(4, '0')}`;
const job = (n: number): RunJobV1 => ({ run_id: runId(n), agent_id: FIXTURE_IDS.agent, tenant_id: FIXTURE_IDS.tenant });
const add = (queue: InProcessRunQueue, n: number, attempts = 3) => queue.add(job(n), { jobId: runId(n), attempts });

class Permanent extends Error {}

/** A handler whose calls are recorded and whose outcomes the test decides, one call at a time. */
class ScriptedHandler {
  readonly calls: Array<{ runId: string; attempt: RunJobAttempt }> = [];
  private readonly pending: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  active = 0;
  maxActive = 0;

  readonly handle = (received: RunJobV1, attempt: RunJobAttempt): Promise<void> => {
    this.calls.push({ runId: received.run_id, attempt });
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject })).finally(() => (this.active -= 1));
  };

  async settleNext(error?: unknown): Promise<void> {
    const next = this.pending.shift();
    if (!next) throw new Error('no call is pending');
    if (error === undefined) next.resolve();
    else next.reject(error);
    await flush();
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe(InProcessRunQueue.name, () => {
  let sut: InProcessRunQueue;
  let handler: ScriptedHandler;
  let gaveUp: Array<{ runId: string; error: unknown }>;
  const start = (concurrency = 2, backoffMs = 5) =>
    sut.process(handler.handle, {
      concurrency,
      backoffMs,
      retryable: (error) => !(error instanceof Permanent),
      onGaveUp: (job, error) => gaveUp.push({ runId: job.run_id, error }),
    });

  beforeEach(() => {
    sut = new InProcessRunQueue();
    handler = new ScriptedHandler();
    gaveUp = [];
  });

  afterEach(async () => {
    await Promise.all([sut.close(), (async () => { while (handler.active > 0) await handler.settleNext(); })()]);
  });

  it('should hold jobs added before a handler is attached and start them when it is', async () => {
    await add(sut, 1);
    await flush();
    expect(handler.calls).toHaveLength(0);

    start();
    await flush();

    expect(handler.calls).toEqual([{ runId: runId(1), attempt: { number: 1, of: 3 } }]);
  });

  it('should handle no more jobs at once than its concurrency, in the order they were added', async () => {
    start(2);
    for (const n of [1, 2, 3, 4]) await add(sut, n);
    await flush();
    expect(handler.calls.map((call) => call.runId)).toEqual([runId(1), runId(2)]);

    await handler.settleNext();
    await handler.settleNext();
    await flush();

    expect(handler.calls.map((call) => call.runId)).toEqual([runId(1), runId(2), runId(3), runId(4)]);
    expect(handler.maxActive).toBe(2);
  });

  it('should queue a job id once while it waits or runs', async () => {
    start(1);
    await add(sut, 1);
    await add(sut, 2);
    await add(sut, 1);
    await add(sut, 2);
    await flush();

    expect(sut.counts()).toEqual({ waiting: 1, active: 1 });
  });

  it('should report a job that waits or runs, and nothing for one that finished (its id may be added again)', async () => {
    start(1);
    await add(sut, 1);
    await add(sut, 2);
    await flush();

    expect([await sut.removeFinished(runId(1)), await sut.removeFinished(runId(2))]).toEqual(['active', 'pending']);
    await handler.settleNext();
    await flush();
    expect(await sut.removeFinished(runId(1))).toBe('missing');
    await add(sut, 1);
    await handler.settleNext();
    await handler.settleNext();
    await flush();

    expect(handler.calls.map((call) => call.runId)).toEqual([runId(1), runId(2), runId(1)]);
  });

  it('should retry a failed attempt after a backoff, counting attempts, until the last one', async () => {
    start();
    await add(sut, 1, 2);
    await flush();

    await handler.settleNext(new Error('flaky'));
    expect(sut.counts()).toEqual({ waiting: 1, active: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await handler.settleNext(new Error('flaky again'));
    await new Promise((resolve) => setTimeout(resolve, 40));

    expect(handler.calls.map((call) => call.attempt)).toEqual([
      { number: 1, of: 2 },
      { number: 2, of: 2 },
    ]);
    expect(sut.counts()).toEqual({ waiting: 0, active: 0 });
    expect(gaveUp).toEqual([{ runId: runId(1), error: new Error('flaky again') }]);
  });

  it('should not retry an error its options call permanent', async () => {
    start();
    await add(sut, 1);
    await flush();

    await handler.settleNext(new Permanent('bad config'));
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(handler.calls).toHaveLength(1);
    expect(sut.counts()).toEqual({ waiting: 0, active: 0 });
    expect(gaveUp.map((each) => each.error)).toEqual([new Permanent('bad config')]);
  });

  it('should refuse a job that breaks the contract', async () => {
    await expect(sut.add({ run_id: 'nope', agent_id: FIXTURE_IDS.agent, tenant_id: FIXTURE_IDS.tenant }, { jobId: 'nope', attempts: 1 })).rejects.toThrow(
      ContractViolationError,
    );
  });

  it('should wait for active jobs on close and hand back the ones that never started or await a retry', async () => {
    start(1);
    await add(sut, 1);
    await add(sut, 2);
    await flush();

    let closed = false;
    const closing = sut.close().then((handedBack) => {
      closed = true;
      return handedBack;
    });
    await flush();
    expect(closed).toBe(false);
    await handler.settleNext(new Error('failed while closing'));

    expect((await closing).map((handed) => handed.run_id).sort()).toEqual([runId(1), runId(2)]);
    expect(handler.calls.map((call) => call.runId)).toEqual([runId(1)]);
  });

  it('should hand back jobs added after close instead of running them', async () => {
    start();
    await sut.close();

    await add(sut, 3);
    await add(sut, 3);
    await flush();

    expect(handler.calls).toHaveLength(0);
    expect(sut.takeUnfinished().map((handed) => handed.run_id)).toEqual([runId(3)]);
    expect(sut.takeUnfinished()).toEqual([]);
  });
});
