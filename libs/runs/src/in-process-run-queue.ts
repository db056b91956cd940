import { RunJobV1 } from '@skreaver/contracts';
import { ContractViolationError } from '@skreaver/messaging';
import type { StreamJobEntry } from '@skreaver/messaging';
import { backoffDelay } from '@skreaver/util';

/** What the dispatcher puts admitted runs on: the Redis run queue, or in direct mode the in-process one. */
export interface RunJobQueue {
  add(job: RunJobV1, options: { jobId: string; attempts: number }): Promise<unknown>;
  /** Optional: many jobs in one round trip (the Redis queue); without it `add` is called for each, in order. */
  addBulk?(jobs: readonly { payload: RunJobV1; options: { jobId: string; attempts: number } }[]): Promise<unknown>;
  /**
   * Forgets the finished job `jobId` so that id can be enqueued again (a run resumed after waiting for input);
   * resolves with where the job stood: `active` or `pending` ones are left alone.
   */
  removeFinished(jobId: string): Promise<'pending' | 'active' | 'completed' | 'failed' | 'missing'>;
  /**
   * Optional: the job as a step of a new run's admission script (`RunDispatcher.admitNew`), when the queue is a
   * Redis stream queue; undefined when `add` must enqueue it.
   */
  entry?(job: RunJobV1, options: { jobId: string; attempts: number }): StreamJobEntry | undefined;
}

export interface RunJobAttempt {
  /** 1-based number of this attempt. */
  number: number;
  /** Attempts the job gets in all. */
  of: number;
}

export type RunJobHandler = (job: RunJobV1, attempt: RunJobAttempt) => Promise<void>;

export interface InProcessRunQueueOptions {
  /** Jobs handled at once. */
  concurrency: number;
  /** False for an error another attempt cannot fix: the job is not retried. */
  retryable: (error: unknown) => boolean;
  /** Delay before the second attempt; doubled for each later one (BullMQ's exponential backoff). */
  backoffMs?: number;
  /** Told about every failed attempt (the handler logs what it knows; this is for anything it threw past that). */
  onError?: (job: RunJobV1, error: unknown) => void;
  /** Told when a job failed for good (its last attempt, or an error not retryable): nothing will handle it again. */
  onGaveUp?: (job: RunJobV1, error: unknown) => void;
}

interface Entry {
  job: RunJobV1;
  attempts: number;
  attemptsMade: number;
}

const MAX_BACKOFF_MS = 60_000;

/**
 * The run queue of direct mode (`SKREAVER_MESH_ENABLED=false`): jobs are handled in this process, without BullMQ or
 * coordinators, with the same contract as the Redis queue: the payload is validated, a job id is enqueued once while
 * it is waiting or active, failed attempts are retried with exponential backoff, up to `attempts`.
 *
 * Jobs live in memory only: `close()` waits for the active ones and hands back those that never started, so the
 * caller can end their runs rather than leave them queued with nothing behind them.
 */
export class InProcessRunQueue implements RunJobQueue {
  private readonly waiting: Entry[] = [];
  private readonly delayed = new Map<string, { entry: Entry; timer: NodeJS.Timeout }>();
  private readonly active = new Map<string, Promise<void>>();
  /** Once closed: jobs added, or failed with attempts left; no one will handle them here, so they are handed back. */
  private readonly unfinished: RunJobV1[] = [];
  private handler: RunJobHandler | undefined;
  private options: InProcessRunQueueOptions = { concurrency: 1, retryable: () => true };
  private closed = false;

  /** Queues a job; a job id already waiting, delayed or active is not queued again. */
  async add(job: RunJobV1, options: { jobId: string; attempts: number }): Promise<string> {
    const parsed = RunJobV1.safeParse(job);
    if (!parsed.success) throw new ContractViolationError('in-process run queue', parsed.error.issues);
    if (this.closed) {
      // Past close() (a run admitted when another ended, a late request): not run here, but handed back, so its run
      // is ended and its agent's slot freed rather than held by a job nobody will handle.
      if (!this.unfinished.some((unfinished) => unfinished.run_id === options.jobId)) this.unfinished.push(parsed.data);
      return options.jobId;
    }
    if (!this.holds(options.jobId)) {
      this.waiting.push({ job: parsed.data, attempts: Math.max(1, options.attempts), attemptsMade: 0 });
      this.pump();
    }
    return options.jobId;
  }

  /** Finished jobs leave no trace here: only a job still waiting or running stands. */
  async removeFinished(jobId: string): Promise<'pending' | 'active' | 'missing'> {
    if (this.active.has(jobId)) return 'active';
    return this.holds(jobId) ? 'pending' : 'missing';
  }

  /** Starts handling jobs (those added before too). */
  process(handler: RunJobHandler, options: InProcessRunQueueOptions): void {
    this.handler = handler;
    this.options = options;
    this.pump();
  }

  /** Jobs waiting (delayed retries included) and being handled. */
  counts(): { waiting: number; active: number } {
    return { waiting: this.waiting.length + this.delayed.size, active: this.active.size };
  }

  /**
   * Takes no more jobs, waits for the active ones, and returns the jobs that never started or were waiting for a
   * retry: they are the caller's to end. Jobs added after this are handed back by `takeUnfinished()`.
   */
  async close(): Promise<RunJobV1[]> {
    this.closed = true;
    const handedBack = this.waiting.splice(0).map((entry) => entry.job);
    for (const { entry, timer } of this.delayed.values()) {
      clearTimeout(timer);
      handedBack.push(entry.job);
    }
    this.delayed.clear();
    await Promise.allSettled([...this.active.values()]);
    return [...handedBack, ...this.unfinished.splice(0)];
  }

  /** Jobs added or left unfinished since the last call, once closed. */
  takeUnfinished(): RunJobV1[] {
    return this.unfinished.splice(0);
  }

  /** Whether the job is waiting, delayed for a retry or being handled here. */
  holds(jobId: string): boolean {
    return this.active.has(jobId) || this.delayed.has(jobId) || this.waiting.some((entry) => entry.job.run_id === jobId);
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler || this.closed) return;
    while (this.active.size < this.options.concurrency) {
      const entry = this.waiting.shift();
      if (!entry) return;
      const id = entry.job.run_id;
      const handled = this.handle(handler, entry).finally(() => {
        this.active.delete(id);
        this.pump();
      });
      this.active.set(id, handled);
    }
  }

  private async handle(handler: RunJobHandler, entry: Entry): Promise<void> {
    entry.attemptsMade += 1;
    try {
      await handler(entry.job, { number: entry.attemptsMade, of: entry.attempts });
    } catch (error) {
      this.options.onError?.(entry.job, error);
      if (entry.attemptsMade >= entry.attempts || !this.options.retryable(error)) {
        this.options.onGaveUp?.(entry.job, error);
        return;
      }
      if (this.closed) {
        this.unfinished.push(entry.job);
        return;
      }
      const delay = backoffDelay(entry.attemptsMade - 1, this.options.backoffMs ?? 1_000, MAX_BACKOFF_MS);
      const timer = setTimeout(() => {
        this.delayed.delete(entry.job.run_id);
        this.waiting.push(entry);
        this.pump();
      }, delay);
      this.delayed.set(entry.job.run_id, { entry, timer });
    }
  }
}
