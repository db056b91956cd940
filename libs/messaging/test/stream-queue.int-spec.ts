import type { RunJobV1 } from '@skreaver/contracts';
import { isolatedRedis, waitFor } from '@skreaver/testing';

import {
  ContractViolationError,
  createRedis,
  type GaveUpReason,
  STREAM_QUEUE_GROUP,
  StreamQueue,
  StreamQueueWorker,
  type StreamQueueWorkerOptions,
  type TypedJobMeta,
} from '../src';
import type { RedisClient } from '../src';
import { closeAll, runJob, runsQueueDef, type RunsQueue } from './fixtures';

const isolated = isolatedRedis('messaging-stream-queue');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a held job waits on until the test opens it. */
function gate(): { passed: Promise<void>; open: () => void } {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => (open = resolve));
  return { passed, open };
}

describe(StreamQueue.name, () => {
  const connection = createRedis(isolated.url, { connectionName: 'messaging-stream-queue-test' });
  const blocking: RedisClient[] = [];
  const workers: StreamQueueWorker<RunsQueue>[] = [];
  const prefix = isolated.prefix;
  let test = 0;
  let def: RunsQueue;

  function queue(): StreamQueue<RunsQueue> {
    return new StreamQueue(def, { connection, keyPrefix: prefix, attempts: 3 });
  }

  function worker(
    processor: (payload: RunJobV1, job: TypedJobMeta) => Promise<unknown>,
    options: Partial<StreamQueueWorkerOptions> = {},
  ): StreamQueueWorker<RunsQueue> {
    const blockingConnection = createRedis(isolated.url, { connectionName: 'messaging-stream-queue-worker', forBlocking: true });
    blocking.push(blockingConnection);
    const created = new StreamQueueWorker(def, { blockingConnection, connection, keyPrefix: prefix, backoffMs: 20, blockMs: 200, ...options }, processor);
    created.start();
    workers.push(created);
    return created;
  }

  /** Takes the next entry as a consumer that then dies holding it (never acks, never renews). */
  async function takeAndDie(sut: StreamQueue<RunsQueue>, consumer = 'dead-worker'): Promise<string> {
    await connection.xgroup('CREATE', sut.keys.stream, STREAM_QUEUE_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const reply = (await connection.xreadgroup('GROUP', STREAM_QUEUE_GROUP, consumer, 'COUNT', 1, 'STREAMS', sut.keys.stream, '>')) as [string, [string, string[]][]][];
    const entry = reply[0]?.[1][0]?.[0];
    if (!entry) throw new Error('no entry to take');
    return entry;
  }

  beforeEach(() => {
    def = runsQueueDef(++test);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
  });

  afterAll(async () => {
    await isolated.cleanup();
    await closeAll(connection, ...blocking);
  });

  it('should keep every key under the hash-tagged key prefix, so one cluster slot holds the queue', () => {
    const sut = queue();

    for (const key of [sut.keys.stream, sut.keys.delayed, sut.keys.completed, sut.keys.failed, `${sut.keys.jobs}x`]) {
      expect(key.startsWith(`{${prefix}}:sq:runs-${test}.v1:`)).toBe(true);
    }
  });

  it('should hand an added job to a worker with its payload, id and attempts, then count it completed', async () => {
    const sut = queue();
    const job = runJob();
    const seen: Array<[RunJobV1, TypedJobMeta]> = [];
    await sut.add(job, { jobId: job.run_id, attempts: 2 });
    expect(await sut.standing(job.run_id)).toBe('pending');
    expect(await sut.counts()).toEqual({ waiting: 1, active: 0, delayed: 0, failed: 0, completed: 0 });

    worker(async (payload, meta) => void seen.push([payload, meta]));

    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { what: 'the job to complete' });
    expect(seen).toEqual([[job, { id: job.run_id, attemptsMade: 0, attempts: 2 }]]);
    expect(await sut.counts()).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 1 });
    expect(await connection.xlen(sut.keys.stream)).toBe(0);
  });

  it('should refuse a payload that breaks the contract and store nothing', async () => {
    const sut = queue();

    await expect(sut.add({ run_id: 'not-a-uuid' } as unknown as RunJobV1, { jobId: 'x' })).rejects.toBeInstanceOf(ContractViolationError);
    await expect(sut.addBulk([{ payload: runJob(), options: { jobId: 'a' } }, { payload: {} as RunJobV1, options: { jobId: 'b' } }])).rejects.toBeInstanceOf(
      ContractViolationError,
    );
    expect(await connection.exists(sut.keys.stream, `${sut.keys.jobs}x`, `${sut.keys.jobs}a`)).toBe(0);
  });

  it('should add a job id once, whether it is waiting, active or completed', async () => {
    const sut = queue();
    const job = runJob();
    let calls = 0;
    const held = gate();
    await sut.add(job, { jobId: job.run_id });
    await sut.add(job, { jobId: job.run_id });
    await sut.addBulk([{ payload: job, options: { jobId: job.run_id } }]);
    expect(await connection.xlen(sut.keys.stream)).toBe(1);

    worker(async () => {
      calls += 1;
      await held.passed;
    });
    await waitFor(async () => (await sut.standing(job.run_id)) === 'active', { what: 'the job to be active' });
    await sut.add(job, { jobId: job.run_id });
    held.open();
    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { what: 'the job to complete' });
    await sut.add(job, { jobId: job.run_id });
    await sleep(300);

    expect(calls).toBe(1);
    expect(await sut.counts()).toMatchObject({ waiting: 0, active: 0, completed: 1 });
  });

  it('should add many jobs in one call, in order', async () => {
    const sut = queue();
    const jobs = Array.from({ length: 5 }, runJob);
    const seen: string[] = [];

    expect(await sut.addBulk(jobs.map((payload) => ({ payload, options: { jobId: payload.run_id } })))).toEqual(jobs.map((job) => job.run_id));
    worker(async (payload) => void seen.push(payload.run_id));

    await waitFor(() => seen.length === 5, { what: 'every job' });
    expect(seen).toEqual(jobs.map((job) => job.run_id));
  });

  it('should retry a failed attempt after a backoff, counting the attempts made', async () => {
    const sut = queue();
    const job = runJob();
    const attempts: Array<{ made: number; at: number }> = [];
    await sut.add(job, { jobId: job.run_id, attempts: 3 });

    worker(async (_payload, meta) => {
      attempts.push({ made: meta.attemptsMade, at: Date.now() });
      if (meta.attemptsMade < 2) throw new Error(`attempt ${meta.attemptsMade + 1} failed`);
    });

    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { what: 'the job to complete' });
    expect(attempts.map((attempt) => attempt.made)).toEqual([0, 1, 2]);
    // Backoff 20 ms, then 40 ms.
    const [first, second, third] = attempts.map((attempt) => attempt.at);
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(20);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(40);
    expect(await connection.hget(`${sut.keys.jobs}${job.run_id}`, 'm')).toBe('2');
  });

  it('should fail a job once its attempts are used, or at once for an error no retry can fix, and say why', async () => {
    const sut = queue();
    const [spent, permanent] = [runJob(), runJob()];
    const gaveUp: Array<[unknown, string, GaveUpReason]> = [];
    let calls = 0;
    await sut.add(spent, { jobId: spent.run_id, attempts: 2 });
    await sut.add(permanent, { jobId: permanent.run_id, attempts: 5 });

    worker(
      async (payload) => {
        calls += 1;
        throw new Error(payload.run_id === permanent.run_id ? 'permanent' : 'transient');
      },
      { retryable: (error) => (error as Error).message !== 'permanent', onGaveUp: (payload, error, reason) => gaveUp.push([payload, error.message, reason]) },
    );

    await waitFor(() => gaveUp.length === 2, { what: 'both jobs to fail' });
    expect(calls).toBe(3);
    expect(gaveUp).toEqual(
      expect.arrayContaining([
        [spent, 'transient', 'attempts'],
        [permanent, 'permanent', 'unrecoverable'],
      ]),
    );
    expect(await sut.standing(spent.run_id)).toBe('failed');
    expect(await sut.counts()).toMatchObject({ failed: 2, completed: 0, waiting: 0, active: 0, delayed: 0 });
    expect(await connection.hget(`${sut.keys.jobs}${spent.run_id}`, 'r')).toBe('transient');
  });

  it('should hand the job of a worker that died holding it to another once its lock expired', async () => {
    const sut = queue();
    const job = runJob();
    const seen: TypedJobMeta[] = [];
    await sut.add(job, { jobId: job.run_id });
    await takeAndDie(sut);
    expect(await sut.standing(job.run_id)).toBe('active');

    worker(async (_payload, meta) => void seen.push(meta), { lockDurationMs: 300, stalledIntervalMs: 100 });

    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { what: 'the stalled job to complete' });
    expect(seen).toEqual([{ id: job.run_id, attemptsMade: 0, attempts: 3 }]);
    expect(await connection.hget(`${sut.keys.jobs}${job.run_id}`, 'k')).toBe('1');
    expect(await connection.xpending(sut.keys.stream, STREAM_QUEUE_GROUP)).toEqual([0, null, null, null]);
  });

  it('should fail a job found stalled more often than allowed', async () => {
    const sut = queue();
    const job = runJob();
    const gaveUp: GaveUpReason[] = [];
    let calls = 0;
    await sut.add(job, { jobId: job.run_id });
    await takeAndDie(sut);

    worker(
      async () => {
        calls += 1;
      },
      { lockDurationMs: 200, stalledIntervalMs: 100, maxStalledCount: 0, onGaveUp: (_payload, _error, reason) => gaveUp.push(reason) },
    );

    await waitFor(async () => (await sut.standing(job.run_id)) === 'failed', { what: 'the job to fail' });
    expect(gaveUp).toEqual(['stalled']);
    expect(calls).toBe(0);
  });

  it('should keep a long job locked while its worker lives: no other worker takes it', async () => {
    const sut = queue();
    const job = runJob();
    const handledBy: string[] = [];
    await sut.add(job, { jobId: job.run_id });
    const slow = async () => {
      handledBy.push('first');
      await sleep(1_200);
    };

    worker(slow, { lockDurationMs: 300, stalledIntervalMs: 100 });
    await waitFor(() => handledBy.length === 1, { what: 'the first worker to start' });
    worker(async () => void handledBy.push('second'), { lockDurationMs: 300, stalledIntervalMs: 100 });

    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { timeoutMs: 5_000, what: 'the job to complete' });
    expect(handledBy).toEqual(['first']);
    expect(await connection.hget(`${sut.keys.jobs}${job.run_id}`, 'k')).toBeNull();
  });

  it('should not start again a job of its own that it finds idle past the lock (a renewal that came late)', async () => {
    const sut = queue();
    const job = runJob();
    let calls = 0;
    await sut.add(job, { jobId: job.run_id });
    worker(
      async () => {
        calls += 1;
        await sleep(600);
      },
      { consumer: 'late-renewer', concurrency: 2, lockDurationMs: 2_000, stalledIntervalMs: 50 },
    );
    await waitFor(() => calls === 1, { what: 'the job to start' });
    const [[entry]] = (await connection.xpending(sut.keys.stream, STREAM_QUEUE_GROUP, '-', '+', 1)) as [[string]];

    // As if its renewals had not reached Redis for a while: the worker's own stalled check claims the entry.
    await connection.xclaim(sut.keys.stream, STREAM_QUEUE_GROUP, 'late-renewer', 0, entry, 'IDLE', 60_000, 'JUSTID');

    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { what: 'the job to complete' });
    expect(calls).toBe(1);
  });

  it('should take no more jobs than its concurrency, leaving the rest waiting for others', async () => {
    const sut = queue();
    const jobs = Array.from({ length: 5 }, runJob);
    let running = 0;
    let most = 0;
    const held = gate();
    await sut.addBulk(jobs.map((payload) => ({ payload, options: { jobId: payload.run_id } })));

    worker(
      async () => {
        running += 1;
        most = Math.max(most, running);
        await held.passed;
        running -= 1;
      },
      { concurrency: 2 },
    );

    await waitFor(() => running === 2, { what: 'two jobs to run' });
    await sleep(300);
    expect(await sut.counts()).toMatchObject({ waiting: 3, active: 2 });
    held.open();
    await waitFor(async () => (await sut.counts()).completed === 5, { what: 'every job to complete' });
    expect(most).toBe(2);
  });

  it('should keep finished jobs within the retention count, and none with a count of 0', async () => {
    const sut = queue();
    const jobs = Array.from({ length: 5 }, runJob);
    worker(async () => undefined, { retention: { completed: { count: 2, ageSeconds: 3_600 }, failed: { count: 0, ageSeconds: 3_600 } } });

    // One at a time, so each finishes in a later millisecond than the one before (the set is ordered by finish time).
    for (const job of jobs) {
      await sut.add(job, { jobId: job.run_id });
      await waitFor(async () => (await connection.xlen(sut.keys.stream)) === 0, { what: 'the job to finish' });
      await sleep(2);
    }

    expect(await connection.zrange(sut.keys.completed, 0, -1)).toEqual(jobs.slice(3).map((job) => job.run_id));
    expect(await sut.standing(jobs[0]?.run_id ?? '')).toBe('missing');
    expect(await sut.standing(jobs[4]?.run_id ?? '')).toBe('completed');

    const failing = runJob();
    await Promise.all(workers.splice(0).map((w) => w.close()));
    worker(
      async () => {
        throw new Error('no');
      },
      { retention: { completed: { count: 2, ageSeconds: 3_600 }, failed: { count: 0, ageSeconds: 3_600 } } },
    );
    await sut.add(failing, { jobId: failing.run_id, attempts: 1 });
    await waitFor(async () => (await sut.standing(failing.run_id)) === 'missing', { what: 'the failed job to be removed' });
    expect(await connection.zcard(sut.keys.failed)).toBe(0);
  });

  it('should requeue only a job that is done with, and free a finished id for another add', async () => {
    const sut = queue();
    const job = runJob();
    let calls = 0;
    let held = gate();
    await sut.add(job, { jobId: job.run_id });
    expect(await sut.requeue(job.run_id, job)).toBe(false);
    expect(await sut.removeFinished(job.run_id)).toBe('pending');

    worker(async () => {
      calls += 1;
      await held.passed;
    });
    await waitFor(async () => (await sut.standing(job.run_id)) === 'active', { what: 'the job to be active' });
    expect(await sut.requeue(job.run_id, job)).toBe(false);
    expect(await sut.removeFinished(job.run_id)).toBe('active');
    held.open();
    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { what: 'the job to complete' });

    held = gate();
    expect(await sut.requeue(job.run_id, job, { attempts: 1 })).toBe(true);
    await waitFor(() => calls === 2, { what: 'the requeued job to run' });
    held.open();
    await waitFor(async () => (await sut.standing(job.run_id)) === 'completed', { what: 'the requeued job to complete' });
    expect(await connection.zcard(sut.keys.completed)).toBe(1);

    expect(await sut.removeFinished(job.run_id)).toBe('completed');
    expect(await sut.standing(job.run_id)).toBe('missing');
    expect(await sut.requeue(job.run_id, job)).toBe(true);
    await waitFor(() => calls === 3, { what: 'the job added again to run' });
  });

  it('should hold a delayed job until it is due', async () => {
    const sut = queue();
    const job = runJob();
    let ranAt = 0;
    worker(async () => void (ranAt = Date.now()));
    const addedAt = Date.now();

    await sut.add(job, { jobId: job.run_id, delayMs: 400 });
    expect(await sut.counts()).toMatchObject({ delayed: 1, waiting: 0 });

    await waitFor(() => ranAt > 0, { what: 'the delayed job to run' });
    expect(ranAt - addedAt).toBeGreaterThanOrEqual(400);
  });

  it('should wait for its active jobs when closed, and leave unread jobs to other workers', async () => {
    const sut = queue();
    const [first, second] = [runJob(), runJob()];
    const finished: string[] = [];
    await sut.addBulk([first, second].map((payload) => ({ payload, options: { jobId: payload.run_id } })));
    const closing = worker(
      async (payload) => {
        await sleep(300);
        finished.push(payload.run_id);
      },
      { concurrency: 1 },
    );
    await waitFor(async () => (await sut.counts()).active === 1, { what: 'one job to start' });

    await closing.close();
    workers.splice(0);
    expect(finished).toEqual([first.run_id]);
    expect(await sut.standing(first.run_id)).toBe('completed');
    expect(await sut.standing(second.run_id)).toBe('pending');

    worker(async (payload) => void finished.push(payload.run_id));
    await waitFor(() => finished.length === 2, { what: 'another worker to take the second job' });
  });

  it('should go on after its stream and group vanished (Redis lost its data)', async () => {
    const sut = queue();
    const [before, after] = [runJob(), runJob()];
    const seen: string[] = [];
    const errors: unknown[] = [];
    worker(async (payload) => void seen.push(payload.run_id), { onError: (error) => errors.push(error) });
    await sut.add(before, { jobId: before.run_id });
    await waitFor(() => seen.length === 1, { what: 'the first job' });

    await connection.del(sut.keys.stream, `${sut.keys.jobs}${before.run_id}`, sut.keys.completed);
    await sleep(300);
    await sut.add(after, { jobId: after.run_id });

    await waitFor(() => seen.length === 2, { what: 'the job added after the loss' });
    expect(seen).toEqual([before.run_id, after.run_id]);
    expect(errors.some((error) => String(error).includes('NOGROUP'))).toBe(true);
  });
});
