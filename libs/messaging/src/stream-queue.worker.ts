import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { type QueueDef, type QueuePayload, type StreamQueueKeys, queueName, streamQueueKeys } from '@skreaver/contracts';
import { Backoff, backoffDelay, sleep, untilAborted } from '@skreaver/util';

import type { RedisClient } from './redis-connection';
import { isRedisUnavailable } from './redis-errors';
import { endReadLoop } from './redis-lifecycle';
import { RedisScript } from './redis-script';
import { createConsumerGroup, entriesOfReadReply, errorMessage, fieldsToRecord, parseAutoclaimReply } from './stream-entry';
import { PUSH_LUA, STREAM_QUEUE_GROUP } from './stream-queue';
import { DEFAULT_JOB_RETENTION, type FinishedJobRetention, type JobWorkerOptions, type TypedJobMeta } from './typed-queue';

// Whether `consumer` holds the entry: after a stalled handoff another worker does, and only it may finish the job.
const OWNS_LUA = `
local function owns(stream, group, entry, consumer)
  local p = redis.pcall('XPENDING', stream, group, entry, entry, 1)
  return type(p) == 'table' and not p.err and #p > 0 and p[1][2] == consumer
end
`;

// Finishes a job this worker holds: acks and deletes its entry, then completes it (`c`), fails it (`f`) or delays it
// for a retry (`r`); a finished job is kept per retention (count, age), the oldest beyond either bound deleted.
// KEYS: stream, job, delayed, completed, failed. ARGV: group, consumer, entry, id, mode, now, due, reason,
// keep count, keep age (ms), job key prefix. Returns 0 when the entry is no longer this worker's.
const finishScript = new RedisScript(`${OWNS_LUA}
if not owns(KEYS[1], ARGV[1], ARGV[3], ARGV[2]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 0 then return 1 end
local mode = ARGV[5]
if mode == 'r' then
  redis.call('HINCRBY', KEYS[2], 'm', 1)
  redis.call('HSET', KEYS[2], 's', 'd', 'r', ARGV[8])
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[4])
  return 1
end
local keep = tonumber(ARGV[9])
if keep == 0 then
  redis.call('DEL', KEYS[2])
  return 1
end
local set = KEYS[4]
if mode == 'f' then
  set = KEYS[5]
  redis.call('HINCRBY', KEYS[2], 'm', 1)
  redis.call('HSET', KEYS[2], 'r', ARGV[8])
end
redis.call('HSET', KEYS[2], 's', mode, 't', ARGV[6])
redis.call('ZADD', set, ARGV[6], ARGV[4])
local excess = redis.call('ZCARD', set) - keep
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', set, 0, excess - 1)) do redis.call('DEL', ARGV[11] .. id) end
  redis.call('ZREMRANGEBYRANK', set, 0, excess - 1)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', set, '-inf', tonumber(ARGV[6]) - tonumber(ARGV[10]), 'LIMIT', 0, 100)) do
  redis.call('DEL', ARGV[11] .. id)
  redis.call('ZREM', set, id)
end
return 1`);

// Moves delayed jobs that are due into the stream. KEYS: stream, delayed. ARGV: now, job key prefix.
// Returns when the next delayed job is due (ms), or -1.
const promoteScript = new RedisScript(`${PUSH_LUA}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)) do
  local job = ARGV[2] .. id
  local h = redis.call('HMGET', job, 's', 'd', 'a', 'm')
  if h[1] == 'd' then push(KEYS[1], job, id, h[2], h[3], h[4]) end
  redis.call('ZREM', KEYS[2], id)
end
local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #nxt == 0 then return -1 end
return nxt[2]`);

// Counts a stall of a job this worker just claimed. KEYS: stream, job. ARGV: group, entry.
// Returns the job's stall count, or -1 when the job is gone (its entry is then acked and deleted).
const stalledScript = new RedisScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
  return -1
end
return redis.call('HINCRBY', KEYS[2], 'k', 1)`);

// Keeps this worker's jobs locked: resets their idle time (XCLAIM … JUSTID does not count a delivery), but only
// for entries it still holds. KEYS: stream. ARGV: group, consumer, entries…
const renewScript = new RedisScript(`${OWNS_LUA}
local renewed = 0
for i = 3, #ARGV do
  if owns(KEYS[1], ARGV[1], ARGV[i], ARGV[2]) then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed`);

/** Why a worker gave up on a job for good. */
export type GaveUpReason = 'attempts' | 'unrecoverable' | 'stalled' | 'invalid';

/** Options of a `StreamQueueWorker`. */
export interface StreamQueueWorkerOptions extends JobWorkerOptions {
  /** A dedicated connection for the blocking XREADGROUP; the worker disconnects it on `close()` only if a read hangs. */
  blockingConnection: RedisClient;
  /** A non-blocking connection for the worker's scripts (may be shared). */
  connection: RedisClient;
  /** First retry delay, doubled per failed attempt, at most 60 s; default 1000. */
  backoffMs?: number;
  /** Finished jobs kept in Redis; default `DEFAULT_JOB_RETENTION`. */
  retention?: FinishedJobRetention;
  /** False for an error another attempt cannot fix: the job fails at once. */
  retryable?: (error: unknown) => boolean;
  /** XREADGROUP BLOCK time, also the longest a due retry waits for promotion; default 1000. */
  blockMs?: number;
  /** Consumer name in the group; default `<hostname>-<pid>-<random>`. */
  consumer?: string;
  /** Told when a job fails for good (not retried), with why; `payload` is undefined for an entry that did not parse. */
  onGaveUp?: (payload: unknown, error: Error, reason: GaveUpReason) => void;
  /** Redis errors of the loop and of finishing jobs (retried with backoff); a job's own failure is the processor's to report. */
  onError?: (error: unknown) => void;
}

const MAX_BACKOFF_MS = 60_000;
// Consumers idle this long with nothing pending are deleted from the group: workers that died or were replaced.
const DEAD_CONSUMER_IDLE_MS = 3_600_000;
const STOP_MARGIN_MS = 1_000;

interface ActiveJob {
  readonly id: string;
  readonly done: Promise<void>;
}

/**
 * Processes the jobs of a `StreamQueue` with a consumer group shared by every worker: XREADGROUP for new jobs (as
 * many as it has free slots), a job's entry locked by being pending to this worker and renewed while it runs,
 * XAUTOCLAIM for entries idle past the lock (their worker died), delayed retries with exponential backoff, and a job
 * failed once it used its attempts or stalled too often. A job is handled at least once; handlers must be idempotent.
 */
export class StreamQueueWorker<D extends QueueDef> {
  readonly name: string;
  private readonly keys: StreamQueueKeys;
  private readonly consumer: string;
  private readonly concurrency: number;
  private readonly lockMs: number;
  private readonly stalledMs: number;
  private readonly maxStalled: number;
  private readonly blockMs: number;
  private readonly retention: FinishedJobRetention;
  private readonly active = new Map<string, ActiveJob>();
  private readonly stopping = new AbortController();
  private readonly cut = new AbortController();
  private slotFreed: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private groupReady = false;
  private nextPromoteAt = 0;
  private stalledChecks = 0;

  constructor(
    private readonly def: D,
    private readonly options: StreamQueueWorkerOptions,
    private readonly processor: (payload: QueuePayload<D>, job: TypedJobMeta) => Promise<unknown>,
  ) {
    this.name = queueName(def);
    this.keys = streamQueueKeys(def, options.keyPrefix);
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.lockMs = options.lockDurationMs ?? 30_000;
    this.stalledMs = options.stalledIntervalMs ?? this.lockMs;
    this.maxStalled = options.maxStalledCount ?? 3;
    this.blockMs = options.blockMs ?? 1_000;
    this.retention = options.retention ?? DEFAULT_JOB_RETENTION;
  }

  /** Starts taking jobs in the background. */
  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    this.loop = this.run();
    this.renewTimer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.lockMs / 2)));
    this.renewTimer.unref();
  }

  /** Whether the worker is taking jobs. */
  isRunning(): boolean {
    return this.loop !== undefined && !this.stopping.signal.aborted;
  }

  /**
   * Takes no more jobs and waits for the active ones to finish (and be acked). Entries this worker read but never
   * started do not exist: it reads only as many as it has free slots.
   */
  async close(): Promise<void> {
    this.stopping.abort(new Error('worker closing'));
    this.slotFreed?.();
    await endReadLoop(this.loop, this.options.blockingConnection, this.cut, this.blockMs + STOP_MARGIN_MS);
    await Promise.allSettled([...this.active.values()].map((job) => job.done));
    clearInterval(this.renewTimer);
  }

  private async run(): Promise<void> {
    const backoff = new Backoff();
    // Look for stalled jobs at once: a crashed predecessor's jobs should not wait a whole interval.
    let nextStalledCheckAt = 0;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        if (!this.groupReady) await untilAborted(this.ensureGroup(), this.cut.signal);
        const now = Date.now();
        if (now >= this.nextPromoteAt) await untilAborted(this.promote(now), this.cut.signal);
        if (now >= nextStalledCheckAt) {
          await untilAborted(this.takeStalled(), this.cut.signal);
          nextStalledCheckAt = Date.now() + this.stalledMs;
        }
        const free = this.concurrency - this.active.size;
        const wait = Math.max(1, Math.min(this.blockMs, nextStalledCheckAt - Date.now(), this.nextPromoteAt - Date.now()));
        if (free <= 0) {
          await this.untilSlotFree(wait);
          continue;
        }
        const reply = await untilAborted(
          this.options.blockingConnection.xreadgroup('GROUP', STREAM_QUEUE_GROUP, this.consumer, 'COUNT', free, 'BLOCK', wait, 'STREAMS', this.keys.stream, '>'),
          this.cut.signal,
        );
        backoff.reset();
        for (const [entry, fields] of entriesOfReadReply(reply)) this.begin(entry, fields ? fieldsToRecord(fields) : {});
      } catch (error) {
        if (errorMessage(error).startsWith('NOGROUP')) this.groupReady = false;
        if (signal.aborted) break;
        this.options.onError?.(error);
        await sleep(backoff.next(), signal).catch(() => undefined);
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    await createConsumerGroup(this.options.connection, this.keys.stream, STREAM_QUEUE_GROUP);
    this.groupReady = true;
  }

  private untilSlotFree(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.slotFreed === done) this.slotFreed = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.slotFreed = done;
    });
  }

  private async promote(now: number): Promise<void> {
    const next = Number(await promoteScript.run(this.options.connection, [this.keys.stream, this.keys.delayed], [now, this.keys.jobs]));
    // Due retries are promoted within blockMs; one that is due sooner wakes the loop sooner.
    this.nextPromoteAt = next < 0 ? now + this.blockMs : Math.min(now + this.blockMs, Math.max(now + 1, next));
  }

  /** Takes over entries whose lock expired (their worker died or hung), as many as there are free slots. */
  private async takeStalled(): Promise<void> {
    const redis = this.options.connection;
    let cursor = '0-0';
    do {
      const free = this.concurrency - this.active.size;
      if (free <= 0) return;
      // Entries deleted from the stream (the third element) leave the pending list with this call.
      const [next, claimed] = parseAutoclaimReply(
        await redis.xautoclaim(this.keys.stream, STREAM_QUEUE_GROUP, this.consumer, this.lockMs, cursor, 'COUNT', free),
      );
      cursor = next;
      for (const [entry, fields] of claimed) {
        // One of this worker's own jobs whose renewal was late (Redis slow or away): it is still running here, and the
        // claim only renewed it.
        if (this.active.has(entry)) continue;
        const record = fields ? fieldsToRecord(fields) : {};
        const id = record['i'];
        if (!id || fields === null) {
          await redis.xack(this.keys.stream, STREAM_QUEUE_GROUP, entry);
          continue;
        }
        const stalls = Number(await stalledScript.run(redis, [this.keys.stream, this.keys.jobs + id], [STREAM_QUEUE_GROUP, entry]));
        if (stalls < 0) continue;
        if (stalls > this.maxStalled) {
          const error = new Error(`job stalled more than allowable limit (${this.maxStalled})`);
          await this.finish(entry, id, 'f', error.message);
          this.options.onGaveUp?.(this.payloadOf(record), error, 'stalled');
          continue;
        }
        this.begin(entry, record);
      }
    } while (cursor !== '0-0' && !this.stopping.signal.aborted);
    if (++this.stalledChecks % 60 === 0) await this.forgetDeadConsumers();
  }

  /** Deletes consumers that hold nothing and were idle for an hour: workers that are gone. */
  private async forgetDeadConsumers(): Promise<void> {
    const redis = this.options.connection;
    const consumers = (await redis.xinfo('CONSUMERS', this.keys.stream, STREAM_QUEUE_GROUP)) as unknown;
    if (!Array.isArray(consumers)) return;
    for (const consumer of consumers) {
      if (!Array.isArray(consumer)) continue;
      const info = fieldsToRecord(consumer.map((value: unknown) => String(value)));
      if (info['name'] !== this.consumer && Number(info['pending']) === 0 && Number(info['idle']) > DEAD_CONSUMER_IDLE_MS) {
        await redis.xgroup('DELCONSUMER', this.keys.stream, STREAM_QUEUE_GROUP, info['name'] ?? '');
      }
    }
  }

  private payloadOf(record: Readonly<Record<string, string>>): unknown {
    try {
      return JSON.parse(record['d'] ?? 'null');
    } catch {
      return undefined;
    }
  }

  private begin(entry: string, record: Readonly<Record<string, string>>): void {
    // process() handles the job's own failure; what escapes it (a throwing callback) must not become an unhandled rejection.
    const done = this.process(entry, record).catch((error: unknown) => this.options.onError?.(error)).finally(() => {
      this.active.delete(entry);
      this.slotFreed?.();
    });
    this.active.set(entry, { id: record['i'] ?? '', done });
  }

  private async process(entry: string, record: Readonly<Record<string, string>>): Promise<void> {
    const id = record['i'] ?? '';
    const attempts = Math.max(1, Number(record['a']) || 1);
    const attemptsMade = Math.max(0, Number(record['m']) || 0);
    const raw = this.payloadOf(record);
    const parsed = this.def.schema.safeParse(raw);
    if (!parsed.success || id === '') {
      const error = new Error(`queue ${this.name}: job ${id || entry} does not match its contract`);
      await this.finish(entry, id, 'f', error.message);
      this.options.onGaveUp?.(raw, error, 'invalid');
      return;
    }
    try {
      // safeParse on a generic schema is typed `unknown`; its output is QueuePayload<D> by definition.
      await this.processor(parsed.data as QueuePayload<D>, { id, attemptsMade, attempts });
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      const retryable = this.options.retryable?.(error) ?? true;
      if (retryable && attemptsMade + 1 < attempts) {
        const due = Date.now() + backoffDelay(attemptsMade, this.options.backoffMs ?? 1_000, MAX_BACKOFF_MS);
        await this.finish(entry, id, 'r', error.message, due);
        this.nextPromoteAt = Math.min(this.nextPromoteAt, due);
        return;
      }
      await this.finish(entry, id, 'f', error.message);
      this.options.onGaveUp?.(parsed.data, error, retryable ? 'attempts' : 'unrecoverable');
      return;
    }
    await this.finish(entry, id, 'c', '');
  }

  /**
   * Acks and records how the job ended. An outage is retried until Redis answers or the lock would have expired:
   * past that another worker may hold the job, and it will find the job's work done.
   */
  private async finish(entry: string, id: string, mode: 'c' | 'f' | 'r', reason: string, due = 0): Promise<void> {
    const keep = mode === 'f' ? this.retention.failed : this.retention.completed;
    const { stream, jobs, delayed, completed, failed } = this.keys;
    const giveUpAt = Date.now() + this.lockMs;
    const backoff = new Backoff();
    for (;;) {
      try {
        await finishScript.run(
          this.options.connection,
          [stream, jobs + id, delayed, completed, failed],
          [STREAM_QUEUE_GROUP, this.consumer, entry, id, mode, Date.now(), due, reason.slice(0, 1_000), keep.count, keep.ageSeconds * 1_000, jobs],
        );
        return;
      } catch (error) {
        this.options.onError?.(error);
        if (!isRedisUnavailable(error) || Date.now() + 100 > giveUpAt) return;
        await sleep(backoff.next());
      }
    }
  }

  private async renew(): Promise<void> {
    if (this.active.size === 0) return;
    try {
      await renewScript.run(this.options.connection, [this.keys.stream], [STREAM_QUEUE_GROUP, this.consumer, ...this.active.keys()]);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
