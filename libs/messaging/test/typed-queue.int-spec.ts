import { queueName, type RunJobV1 } from '@skreaver/contracts';
import { isolatedRedis, waitFor } from '@skreaver/testing';
import { Queue, type Worker } from 'bullmq';
import type { RedisClient } from '../src';

import { bullPrefix, ContractViolationError, createRedis, createTypedWorker, scanKeys, type TypedJobMeta, TypedQueue, type TypedQueueJobDefaults } from '../src';
import { closeAll, runJob, runsQueueDef, type RunsQueue } from './fixtures';

const isolated = isolatedRedis('messaging-typed-queue');

describe(TypedQueue.name, () => {
  const connection = createRedis(isolated.url, { connectionName: 'messaging-queue-test' });
  const blocking: RedisClient[] = [];
  const workers: Worker[] = [];
  const queues: Array<{ close(): Promise<void> }> = [];
  const prefix = isolated.prefix;
  let test = 0;
  let def: RunsQueue;

  function queue(retention: Pick<TypedQueueJobDefaults, 'keepCompleted' | 'keepFailed'> = {}): TypedQueue<RunsQueue> {
    const sut = new TypedQueue(def, { connection, keyPrefix: prefix, defaultJobOptions: { attempts: 3, backoffMs: 20, ...retention } });
    queues.push(sut);
    return sut;
  }

  function worker(processor: (payload: RunJobV1, job: TypedJobMeta) => Promise<string>): Worker {
    const workerConnection = createRedis(isolated.url, { connectionName: 'messaging-queue-worker', forBlocking: true });
    blocking.push(workerConnection);
    const created = createTypedWorker(def, { connection: workerConnection, keyPrefix: prefix }, processor);
    workers.push(created);
    return created;
  }

  beforeEach(() => {
    def = runsQueueDef(++test);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await Promise.all(queues.splice(0).map((q) => q.close()));
  });

  afterAll(async () => {
    await isolated.cleanup();
    await closeAll(connection, ...blocking);
  });

  it('should prefix its keys with the hash-tagged key prefix', async () => {
    const sut = queue();
    expect(sut.name).toBe(`runs-${test}.v1`);
    expect(bullPrefix('skreaver')).toBe('{skreaver}');
    await sut.add(runJob());
    const keys: string[] = [];
    for await (const page of scanKeys(connection, `{${prefix}}:${sut.name}:*`)) keys.push(...page);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('should hand the parsed payload to the processor and complete the job', async () => {
    const sut = queue();
    const seen: Array<[RunJobV1, TypedJobMeta]> = [];
    const payload = runJob();
    const jobId = await sut.add(payload, { jobId: payload.run_id });
    expect(jobId).toBe(payload.run_id);
    worker(async (data, job) => {
      seen.push([data, job]);
      return 'done';
    });
    await waitFor(async () => (await sut.counts())['completed'] === 1, { what: 'the job to complete' });
    expect(seen).toEqual([[payload, { id: payload.run_id, attemptsMade: 0, attempts: 3 }]]);
  });

  it('should not enqueue the same job id twice', async () => {
    const sut = queue();
    const payload = runJob();
    await sut.add(payload, { jobId: payload.run_id });
    await sut.add(payload, { jobId: payload.run_id });
    expect(await sut.counts()).toMatchObject({ waiting: 1 });
  });

  it('should add many jobs in one go, in order, not adding an existing job id again', async () => {
    const sut = queue();
    const first = runJob();
    await sut.add(first, { jobId: first.run_id });
    const [second, third] = [runJob(), runJob()];

    const ids = await sut.addBulk([first, second, third].map((payload) => ({ payload, options: { jobId: payload.run_id } })));

    expect(ids).toEqual([first.run_id, second.run_id, third.run_id]);
    expect(await sut.counts()).toMatchObject({ waiting: 3 });
    await expect(sut.addBulk([{ payload: { ...runJob(), run_id: 42 } as unknown as typeof first }])).rejects.toThrow();
  });

  it('should remove a completed job so its id can be enqueued again, and leave a pending one alone', async () => {
    const sut = queue();
    const payload = runJob();
    await sut.add(payload, { jobId: payload.run_id });
    expect(await sut.removeFinished(payload.run_id)).toBe('pending');
    let handled = 0;
    worker(async () => `handled ${++handled}`);
    await waitFor(async () => (await sut.standing(payload.run_id)) === 'completed', { what: 'the job to complete' });
    await sut.add(payload, { jobId: payload.run_id });
    expect(await sut.standing(payload.run_id)).toBe('completed');

    expect(await sut.removeFinished(payload.run_id)).toBe('completed');
    expect(await sut.standing(payload.run_id)).toBe('missing');
    await sut.add(payload, { jobId: payload.run_id });

    await waitFor(() => handled === 2, { what: 'the job added again to be handled' });
  });

  it('should reject an invalid payload at add and enqueue nothing', async () => {
    const sut = queue();
    const invalid = { ...runJob(), run_id: 'not-a-uuid' };
    await expect(sut.add(invalid)).rejects.toBeInstanceOf(ContractViolationError);
    expect(await sut.counts()).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
  });

  it('should retry a failed job with attemptsMade counting the previous attempts', async () => {
    const sut = queue();
    const attempts: TypedJobMeta[] = [];
    await sut.add(runJob(), { attempts: 2 });
    worker(async (_data, job) => {
      attempts.push(job);
      if (attempts.length === 1) throw new Error('transient');
      return 'ok';
    });
    await waitFor(async () => (await sut.counts())['completed'] === 1, { what: 'the retried job to complete' });
    expect(attempts.map((job) => [job.attemptsMade, job.attempts])).toEqual([
      [0, 2],
      [1, 2],
    ]);
  });

  it('should fail a job with an invalid payload without retrying it', async () => {
    const sut = queue();
    // Written around TypedQueue, as an old or foreign producer would.
    const raw = new Queue(queueName(def), { connection, prefix: bullPrefix(prefix) });
    queues.push(raw);
    await raw.add('runs', { run_id: 42 }, { attempts: 5 });
    const processed: RunJobV1[] = [];
    worker(async (data) => {
      processed.push(data);
      return 'ok';
    });
    await waitFor(async () => (await sut.counts())['failed'] === 1, { what: 'the job to fail' });
    const [failed] = await raw.getFailed();
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/violates its contract/);
    expect(processed).toEqual([]);
  });

  it('should delay a job by delayMs', async () => {
    const sut = queue();
    await sut.add(runJob(), { delayMs: 60_000 });
    expect(await sut.counts()).toMatchObject({ delayed: 1, waiting: 0 });
  });

  it('should keep only the newest keepCompleted.count completed jobs, their older hashes removed', async () => {
    const sut = queue({ keepCompleted: { count: 2, ageSeconds: 3_600 } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const payload = runJob();
      ids.push(await sut.add(payload, { jobId: payload.run_id }));
    }
    const done: string[] = [];
    worker(async (_data, job) => {
      done.push(job.id);
      // BullMQ ranks completed jobs by their finish time in ms and breaks ties by job id: two jobs finished in the
      // same ms would be kept by id, not by order, so each job outlasts a clock tick.
      await new Promise((resolve) => setTimeout(resolve, 3));
      return 'ok';
    });
    await waitFor(async () => done.length === 5 && (await sut.counts()).completed === 2 && (await sut.standing(done[4] as string)) === 'completed', {
      what: 'five jobs completed, two kept',
    });
    const standings = await Promise.all(done.map((id) => sut.standing(id)));
    expect(standings).toEqual(['missing', 'missing', 'missing', 'completed', 'completed']);
    const hashes: string[] = [];
    for await (const page of scanKeys(connection, `{${prefix}}:${sut.name}:*-*`)) hashes.push(...page);
    expect(hashes.filter((key) => ids.some((id) => key.endsWith(`:${id}`))).sort()).toEqual(done.slice(3).map((id) => `{${prefix}}:${sut.name}:${id}`).sort());
  });

  it('should remove each job as it completes when keepCompleted.count is 0', async () => {
    const sut = queue({ keepCompleted: { count: 0, ageSeconds: 3_600 } });
    const ids = [await sut.add(runJob()), await sut.add(runJob())];
    const done: string[] = [];
    worker(async (_data, job) => {
      done.push(job.id);
      return 'ok';
    });
    await waitFor(async () => done.length === 2 && (await Promise.all(ids.map((id) => sut.standing(id)))).every((standing) => standing === 'missing'), {
      what: 'both jobs completed and removed',
    });
    expect(await sut.counts()).toMatchObject({ completed: 0, waiting: 0, active: 0 });
  });

  it('should keep only the newest keepFailed.count failed jobs', async () => {
    const sut = queue({ keepFailed: { count: 1, ageSeconds: 3_600 } });
    for (let i = 0; i < 3; i += 1) await sut.add(runJob(), { attempts: 1 });
    let tried = 0;
    worker(async () => {
      tried += 1;
      throw new Error('always');
    });
    await waitFor(async () => tried === 3 && (await sut.counts()).failed === 1 && (await sut.counts()).waiting + (await sut.counts()).active === 0, {
      what: 'three jobs failed, one kept',
    });
  });
});
