import { type QueueDef, type StreamQueueKeys, queueName, streamQueueKeys } from '@skreaver/contracts';
import type { z } from 'zod';

import { ContractViolationError } from './contract-violation.error';
import type { RedisClient } from './redis-connection';
import { RedisScript } from './redis-script';
import type { AddJobOptions, JobStanding, QueueCounts } from './typed-queue';

/** The consumer group every worker of a stream queue reads with. */
export const STREAM_QUEUE_GROUP = 'workers';

/**
 * A job hash's fields: `s` state (`q` in the stream, `d` delayed for a retry, `c` completed, `f` failed), `e` its
 * latest stream entry id (only read in state `q`; kept after, as when it was last enqueued), `d` payload JSON, `a` attempts allowed, `m` attempts made (failed ones),
 * `k` times found stalled, `r` last error, `t` when it finished.
 *
 * Where a job stands, for the scripts below: `pending` (waiting in the stream or delayed), `active` (read by a worker:
 * pending in the group), `completed`, `failed`, `missing`.
 */
const STANDING_LUA = `
local function standing(stream, group, job)
  local h = redis.call('HMGET', job, 's', 'e')
  local s = h[1]
  if not s then return 'missing' end
  if s == 'c' then return 'completed' end
  if s == 'f' then return 'failed' end
  if s == 'd' or not h[2] then return 'pending' end
  local p = redis.pcall('XPENDING', stream, group, h[2], h[2], 1)
  if type(p) == 'table' and not p.err and #p > 0 then return 'active' end
  return 'pending'
end
`;

/**
 * Puts a job in the stream: its entry carries what a worker needs (`i` id, `d` payload, `a` attempts, `m` attempts
 * made, read by `StreamQueueWorker`), and the job's hash notes it is there. Shared by adding and by promoting a retry.
 */
export const PUSH_LUA = `
local function push(stream, job, id, data, attempts, made)
  local e = redis.call('XADD', stream, '*', 'i', id, 'd', data, 'a', attempts, 'm', made)
  redis.call('HSET', job, 's', 'q', 'e', e)
end
`;

/**
 * Adds a job whose id has no hash (`due` 0: into the stream now; else into the delayed set until then). Also the
 * last step of a new run's admission script (`AgentRunSlots.admitNew` with a `StreamJobEntry`).
 */
export const ADD_LUA = `${PUSH_LUA}
local function add(stream, delayed, job, id, data, attempts, due)
  if redis.call('EXISTS', job) == 1 then return 0 end
  redis.call('HSET', job, 'd', data, 'a', attempts, 'm', 0)
  if tonumber(due) > 0 then
    redis.call('HSET', job, 's', 'd')
    redis.call('ZADD', delayed, due, id)
  else
    push(stream, job, id, data, attempts, 0)
  end
  return 1
end
`;

/** Forgets a finished job: its hash and its place among the completed or failed ones. */
const FORGET_LUA = `
local function forget(job, completed, failed, id)
  redis.call('DEL', job)
  redis.call('ZREM', completed, id)
  redis.call('ZREM', failed, id)
end
`;

// KEYS: stream, delayed. ARGV: job key prefix, then id, payload, attempts, due per job. Returns how many were added.
const addScript = new RedisScript(`${ADD_LUA}
local added = 0
for i = 2, #ARGV, 4 do
  added = added + add(KEYS[1], KEYS[2], ARGV[1] .. ARGV[i], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
end
return added`);

// KEYS: stream, job. ARGV: group.
const standingScript = new RedisScript(`${STANDING_LUA}
return standing(KEYS[1], ARGV[1], KEYS[2])`);

// KEYS: stream, job, completed, failed. ARGV: group, id. Removes a finished job; returns where it stood.
const removeFinishedScript = new RedisScript(`${STANDING_LUA}${FORGET_LUA}
local s = standing(KEYS[1], ARGV[1], KEYS[2])
if s == 'completed' or s == 'failed' then forget(KEYS[2], KEYS[3], KEYS[4], ARGV[2]) end
return s`);

// KEYS: stream, job, completed, failed, delayed. ARGV: group, id, payload, attempts, due. Returns 1 when added.
const requeueScript = new RedisScript(`${STANDING_LUA}${FORGET_LUA}${ADD_LUA}
local s = standing(KEYS[1], ARGV[1], KEYS[2])
if s == 'pending' or s == 'active' then return 0 end
forget(KEYS[2], KEYS[3], KEYS[4], ARGV[2])
return add(KEYS[1], KEYS[5], KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5])`);

/**
 * A job as the arguments of `ADD_LUA`'s `add`, for a script that adds it as its last step (`StreamQueue.entry`):
 * its keys, then id, payload JSON, attempts and due time (0: now).
 */
export interface StreamJobEntry {
  readonly keys: readonly [stream: string, delayed: string, job: string];
  readonly args: readonly [id: string, data: string, attempts: number, due: number];
}

/** Options of a `StreamQueue`. */
export interface StreamQueueOptions {
  /** A shared non-blocking connection; the queue never closes it. */
  connection: RedisClient;
  keyPrefix: string;
  /** Tries per job including the first, unless `add` says; default 3. */
  attempts?: number;
}

/**
 * A job queue on a Redis stream and one consumer group, for payloads of one contract: the producer side of
 * `StreamQueueWorker`. A job id is an idempotency key (adding an id that exists is a no-op, as in BullMQ), and every
 * operation is one script: a job costs a handful of Redis commands from add to finish, where BullMQ's queue and
 * worker scripts cost some sixty.
 *
 * Finished jobs are kept per the worker's retention (the worker finishes them); `removeFinished`/`requeue` free an id.
 */
export class StreamQueue<D extends QueueDef> {
  /** Queue name, `<name>.v<version>`. */
  readonly name: string;
  readonly keys: StreamQueueKeys;
  private readonly redis: RedisClient;
  private readonly attempts: number;

  constructor(
    private readonly def: D,
    options: StreamQueueOptions,
  ) {
    this.name = queueName(def);
    this.keys = streamQueueKeys(def, options.keyPrefix);
    this.redis = options.connection;
    this.attempts = options.attempts ?? 3;
  }

  /**
   * Validates `payload` against the queue's schema and enqueues it; resolves with the job id (which is required: it
   * is the job's idempotency key).
   * @throws ContractViolationError when the payload does not match (nothing is enqueued).
   */
  async add(payload: z.input<D['schema']>, options: AddJobOptions & { jobId: string }): Promise<string> {
    await this.addBulk([{ payload, options }]);
    return options.jobId;
  }

  /**
   * Validates and enqueues many payloads in one script call; resolves with their job ids in order. A job id that
   * exists is not added again.
   * @throws ContractViolationError when a payload does not match (nothing is enqueued).
   */
  async addBulk(jobs: readonly { payload: z.input<D['schema']>; options: AddJobOptions & { jobId: string } }[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const args: (string | number)[] = [this.keys.jobs];
    for (const { payload, options } of jobs) args.push(...this.jobArgs(options.jobId, payload, options));
    await addScript.run(this.redis, [this.keys.stream, this.keys.delayed], args);
    return jobs.map((job) => job.options.jobId);
  }

  /**
   * `payload` validated and encoded as `jobId`'s `add`, for another script to run as its last step (a new run's
   * admission): that script then adds it exactly as `add` would, in the same command.
   * @throws ContractViolationError when the payload does not match.
   */
  entry(payload: z.input<D['schema']>, options: AddJobOptions & { jobId: string }): StreamJobEntry {
    const args = this.jobArgs(options.jobId, payload, options);
    return { keys: [this.keys.stream, this.keys.delayed, this.keys.jobs + options.jobId], args };
  }

  /** Where the job `jobId` stands. */
  async standing(jobId: string): Promise<JobStanding> {
    return asStanding(await standingScript.run(this.redis, [this.keys.stream, this.keys.jobs + jobId], [STREAM_QUEUE_GROUP]));
  }

  /**
   * Enqueues `payload` as `jobId` again unless that job is pending or active (a finished job is removed first, all
   * in one script). Resolves with whether a job was added.
   */
  async requeue(jobId: string, payload: z.input<D['schema']>, options: Omit<AddJobOptions, 'jobId'> = {}): Promise<boolean> {
    const [, data, attempts, due] = this.jobArgs(jobId, payload, options);
    const { stream, jobs, completed, failed, delayed } = this.keys;
    const added = await requeueScript.run(this.redis, [stream, jobs + jobId, completed, failed, delayed], [STREAM_QUEUE_GROUP, jobId, data, attempts, due]);
    return added === 1;
  }

  /** Removes the job `jobId` if it finished (completed or failed), so the id can be added again; resolves with where it stood. */
  async removeFinished(jobId: string): Promise<JobStanding> {
    const { stream, jobs, completed, failed } = this.keys;
    return asStanding(await removeFinishedScript.run(this.redis, [stream, jobs + jobId, completed, failed], [STREAM_QUEUE_GROUP, jobId]));
  }

  /** Number of jobs per state, in one pipeline. */
  async counts(): Promise<QueueCounts> {
    const { stream, delayed, completed, failed } = this.keys;
    const replies = await this.redis
      .pipeline()
      .xlen(stream)
      .xpending(stream, STREAM_QUEUE_GROUP)
      .zcard(delayed)
      .zcard(completed)
      .zcard(failed)
      .exec();
    const number = (index: number): number => {
      const [error, value] = replies?.[index] ?? [null, 0];
      if (error) {
        // No group yet (no worker ever started, or Redis lost its data): nothing is active.
        if (index === 1 && error.message.startsWith('NOGROUP')) return 0;
        throw error;
      }
      if (index === 1) return Array.isArray(value) ? Number(value[0] ?? 0) : 0;
      return Number(value ?? 0);
    };
    const inStream = number(0);
    const active = number(1);
    return { waiting: Math.max(0, inStream - active), active, delayed: number(2), completed: number(3), failed: number(4) };
  }

  /** Nothing to close: the connection is shared. Present so a `StreamQueue` can stand where a `TypedQueue` does. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private jobArgs(jobId: string, payload: z.input<D['schema']>, options: Omit<AddJobOptions, 'jobId'>): [string, string, number, number] {
    if (jobId.length === 0) throw new Error(`queue ${this.name}: a job needs an id`);
    const parsed = this.def.schema.safeParse(payload);
    if (!parsed.success) throw new ContractViolationError(`queue ${this.name}`, parsed.error.issues);
    const due = options.delayMs !== undefined && options.delayMs > 0 ? Date.now() + options.delayMs : 0;
    return [jobId, JSON.stringify(parsed.data), Math.max(1, options.attempts ?? this.attempts), due];
  }
}

function asStanding(reply: unknown): JobStanding {
  if (reply === 'pending' || reply === 'active' || reply === 'completed' || reply === 'failed' || reply === 'missing') return reply;
  throw new Error(`unexpected job standing from Redis: ${String(reply)}`);
}
