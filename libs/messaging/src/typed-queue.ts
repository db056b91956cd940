import { type QueueDef, type QueuePayload, queueName } from '@skreaver/contracts';
import { type JobsOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { RedisClient } from './redis-connection';
import type { z } from 'zod';

import { ContractViolationError } from './contract-violation.error';

/** BullMQ key prefix for a deployment: the braces make it a Redis Cluster hash tag, so a queue's keys share one slot. */
export function bullPrefix(keyPrefix: string): string {
  return `{${keyPrefix}}`;
}

/**
 * How many finished jobs of one kind (completed, or failed) a queue keeps in Redis, and for how long: BullMQ removes a
 * job (its hash and its place in the set) when either bound is passed, as each job finishes, so the queue's memory
 * is bounded by `count` whatever the rate. `count: 0` removes each job as it finishes.
 */
export interface JobRetention {
  count: number;
  ageSeconds: number;
}

/** How many finished jobs a queue keeps, per outcome. */
export interface FinishedJobRetention {
  readonly completed: JobRetention;
  readonly failed: JobRetention;
}

/**
 * Completed jobs are only a trace (the run's row is the record): a bounded number for an hour. Failed ones are what
 * went wrong, kept for inspection for a week, bounded too so a failure storm cannot fill Redis.
 */
export const DEFAULT_JOB_RETENTION: FinishedJobRetention = Object.freeze({
  completed: Object.freeze({ count: 1_000, ageSeconds: 3_600 }),
  failed: Object.freeze({ count: 10_000, ageSeconds: 7 * 24 * 3_600 }),
});

/** Job defaults of a `TypedQueue`; each `add` may override `attempts`. */
export interface TypedQueueJobDefaults {
  /** Tries per job including the first; default 3. */
  attempts?: number;
  /** First retry delay, doubling per attempt (exponential backoff); default 1000. */
  backoffMs?: number;
  /** Completed jobs kept; default `DEFAULT_JOB_RETENTION.completed`. */
  keepCompleted?: JobRetention;
  /** Failed jobs kept; default `DEFAULT_JOB_RETENTION.failed`. */
  keepFailed?: JobRetention;
}

/** Options of a `TypedQueue`. */
export interface TypedQueueOptions {
  /** A shared non-blocking connection; the queue never closes it. */
  connection: RedisClient;
  keyPrefix: string;
  defaultJobOptions?: TypedQueueJobDefaults;
  /** Connection errors BullMQ reports; without it they are dropped (readiness probes report outages). */
  onError?: (error: Error) => void;
}

/** Options of one `TypedQueue.add` call. */
export interface AddJobOptions {
  /** Idempotency key: adding a job whose id already exists returns the existing job. No `:`, not an integer. */
  jobId?: string;
  attempts?: number;
  delayMs?: number;
}

/**
 * Where a job stands: `pending` (waiting, delayed or prioritized: a worker will take it), `active` (a worker holds
 * it; BullMQ hands it on if that worker dies), `completed` or `failed` (the queue is done with it), or `missing`.
 */
export type JobStanding = 'pending' | 'active' | 'completed' | 'failed' | 'missing';

/** Jobs of a queue per state. */
export type QueueCounts = Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed', number>;

/** BullMQ's `KeepJobs` for a retention: `count: 0` is BullMQ's "remove at once" (`true`). */
function keepJobs(retention: JobRetention): { count: number; age: number } | true {
  return retention.count === 0 ? true : { count: retention.count, age: retention.ageSeconds };
}

/** A BullMQ queue that accepts only payloads matching its contract. */
export class TypedQueue<D extends QueueDef> {
  /** BullMQ queue name, `<name>.v<version>`. */
  readonly name: string;
  private readonly queue: Queue;

  constructor(
    private readonly def: D,
    options: TypedQueueOptions,
  ) {
    this.name = queueName(def);
    const defaults = options.defaultJobOptions ?? {};
    this.queue = new Queue(this.name, {
      connection: options.connection,
      prefix: bullPrefix(options.keyPrefix),
      defaultJobOptions: {
        attempts: defaults.attempts ?? 3,
        backoff: { type: 'exponential', delay: defaults.backoffMs ?? 1_000 },
        removeOnComplete: keepJobs(defaults.keepCompleted ?? DEFAULT_JOB_RETENTION.completed),
        removeOnFail: keepJobs(defaults.keepFailed ?? DEFAULT_JOB_RETENTION.failed),
      },
    });
    this.queue.on('error', (error: Error) => options.onError?.(error));
  }

  /**
   * Validates `payload` against the queue's schema and enqueues it; resolves with the job id.
   * @throws ContractViolationError when the payload does not match (nothing is enqueued).
   */
  async add(payload: z.input<D['schema']>, options: AddJobOptions = {}): Promise<string> {
    const parsed = this.def.schema.safeParse(payload);
    if (!parsed.success) throw new ContractViolationError(`queue ${this.name}`, parsed.error.issues);
    const jobOptions: JobsOptions = {};
    if (options.jobId !== undefined) jobOptions.jobId = options.jobId;
    if (options.attempts !== undefined) jobOptions.attempts = options.attempts;
    if (options.delayMs !== undefined) jobOptions.delay = options.delayMs;
    const job = await this.queue.add(this.def.name, parsed.data, jobOptions);
    if (!job.id) throw new Error(`BullMQ returned no id for a job added to ${this.name}`);
    return job.id;
  }

  /**
   * Validates and enqueues many payloads in one round trip (BullMQ `addBulk`, a MULTI on the queue's keys, which
   * share one hash slot); resolves with their job ids in order. Like `add`, a job id that exists is not added again.
   * @throws ContractViolationError when a payload does not match (nothing is enqueued).
   */
  async addBulk(jobs: readonly { payload: z.input<D['schema']>; options?: AddJobOptions }[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const bulk = jobs.map(({ payload, options = {} }) => {
      const parsed = this.def.schema.safeParse(payload);
      if (!parsed.success) throw new ContractViolationError(`queue ${this.name}`, parsed.error.issues);
      const opts: JobsOptions = {};
      if (options.jobId !== undefined) opts.jobId = options.jobId;
      if (options.attempts !== undefined) opts.attempts = options.attempts;
      if (options.delayMs !== undefined) opts.delay = options.delayMs;
      return { name: this.def.name, data: parsed.data, opts };
    });
    const added = await this.queue.addBulk(bulk);
    return added.map((job) => {
      if (!job.id) throw new Error(`BullMQ returned no id for a job added to ${this.name}`);
      return job.id;
    });
  }

  /** Where the job `jobId` stands. */
  async standing(jobId: string): Promise<JobStanding> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'active' || state === 'completed' || state === 'failed') return state;
    if (state === 'unknown') return 'missing';
    return 'pending';
  }

  /**
   * Enqueues `payload` as `jobId` again once the queue is done with that job (completed, failed or gone): the old
   * job is removed first, since an id that still exists makes `add` a no-op. A job that is pending or active is left
   * alone. Resolves with whether a job was added.
   */
  async requeue(jobId: string, payload: z.input<D['schema']>, options: Omit<AddJobOptions, 'jobId'> = {}): Promise<boolean> {
    const standing = await this.standing(jobId);
    if (standing === 'pending' || standing === 'active') return false;
    // remove() refuses a locked job, so a job that became active meanwhile stays; add() then returns it unchanged.
    if (standing !== 'missing') await this.queue.remove(jobId);
    await this.add(payload, { ...options, jobId });
    return true;
  }

  /**
   * Removes the job `jobId` if the queue is done with it (completed or failed), so the id can be added again; a
   * pending or active job is left alone. Resolves with where the job stood.
   */
  async removeFinished(jobId: string): Promise<JobStanding> {
    const standing = await this.standing(jobId);
    if (standing === 'completed' || standing === 'failed') await this.queue.remove(jobId);
    return standing;
  }

  /** Number of jobs per state; `waiting` includes jobs of a paused queue and prioritized jobs. */
  async counts(): Promise<QueueCounts> {
    const raw = await this.queue.getJobCounts('waiting', 'paused', 'prioritized', 'active', 'delayed', 'failed', 'completed');
    const count = (state: string) => raw[state] ?? 0;
    return {
      waiting: count('waiting') + count('paused') + count('prioritized'),
      active: count('active'),
      delayed: count('delayed'),
      failed: count('failed'),
      completed: count('completed'),
    };
  }

  /** Closes the queue; the shared connection stays open. */
  close(): Promise<void> {
    return this.queue.close();
  }
}

/** What every job worker (BullMQ's `createTypedWorker`, `StreamQueueWorker`) is told about locks and stalled jobs. */
export interface JobWorkerOptions {
  keyPrefix: string;
  /** Jobs processed in parallel by this worker; default 1. */
  concurrency?: number;
  /** How long a job stays locked without renewal (every half of it while its worker lives) before it counts as stalled; default 30000. */
  lockDurationMs?: number;
  /**
   * How often this worker looks for stalled jobs (locks that expired: their worker died) and hands them on; default
   * `lockDurationMs`. A dead worker's job moves within `lockDurationMs + 2 × stalledIntervalMs`.
   */
  stalledIntervalMs?: number;
  /**
   * How often a job may be found stalled (its worker died or hung holding it) before it fails; default 3 (BullMQ's
   * own default of 1 would fail a job outright the second time a worker is killed under it).
   */
  maxStalledCount?: number;
}

/** Options of `createTypedWorker`. */
export interface TypedWorkerOptions extends JobWorkerOptions {
  /** A connection made with `forBlocking: true`; BullMQ duplicates it for its blocking reads and closes only the copy. */
  connection: RedisClient;
  /** Errors BullMQ reports outside a job (connection loss…); without it they are dropped. */
  onError?: (error: Error) => void;
}

/** What a typed processor learns about its job besides the payload. */
export interface TypedJobMeta {
  readonly id: string;
  /** Attempts already made before this one: 0 on the first try. */
  readonly attemptsMade: number;
  /** Total attempts allowed. */
  readonly attempts: number;
}

/**
 * Starts a BullMQ worker on `def`'s queue. Each job's data is parsed with the queue's schema before `processor` runs;
 * an invalid payload fails the job with `UnrecoverableError` (never retried). Close it with the worker's own
 * `close()`, which waits for active jobs.
 */
export function createTypedWorker<D extends QueueDef, R>(
  def: D,
  options: TypedWorkerOptions,
  processor: (payload: QueuePayload<D>, job: TypedJobMeta) => Promise<R>,
): Worker<unknown, R> {
  const name = queueName(def);
  const worker = new Worker<unknown, R>(
    name,
    async (job) => {
      const parsed = def.schema.safeParse(job.data);
      if (!parsed.success) {
        throw new UnrecoverableError(new ContractViolationError(`queue ${name}`, parsed.error.issues).message);
      }
      if (!job.id) throw new UnrecoverableError(`job of ${name} has no id`);
      // safeParse on a generic schema is typed `unknown`; its output is QueuePayload<D> by definition.
      return processor(parsed.data as QueuePayload<D>, { id: job.id, attemptsMade: job.attemptsMade, attempts: job.opts.attempts ?? 1 });
    },
    {
      connection: options.connection,
      prefix: bullPrefix(options.keyPrefix),
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? options.lockDurationMs ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 3,
      autorun: true,
    },
  );
  worker.on('error', (error: Error) => options.onError?.(error));
  return worker;
}
