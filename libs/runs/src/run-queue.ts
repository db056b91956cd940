import type { OnApplicationShutdown } from '@nestjs/common';
import { Queues } from '@skreaver/contracts';
import type { RunJobV1 } from '@skreaver/contracts';
import { StreamQueue, TypedQueue } from '@skreaver/messaging';
import type { FinishedJobRetention, JobStanding, QueueCounts, RedisClient, StreamJobEntry } from '@skreaver/messaging';

import type { RunJobQueue } from './in-process-run-queue';

/** How long finished run jobs stay in Redis (`RUN_JOBS_*`); `DEFAULT_JOB_RETENTION` when unset. */
export type RunJobRetention = FinishedJobRetention;

/** Which Redis queue carries run jobs (`RUN_QUEUE`): a stream with a consumer group (`streams`), or BullMQ (`bullmq`). */
export type RunQueueKind = 'streams' | 'bullmq';

type JobOptions = { jobId: string; attempts: number };

/** What a run queue needs of the Redis queue under it: `StreamQueue` and `TypedQueue` (BullMQ) both fit. */
interface RunQueueBackend {
  readonly name: string;
  add(job: RunJobV1, options: JobOptions): Promise<string>;
  addBulk(jobs: readonly { payload: RunJobV1; options: JobOptions }[]): Promise<string[]>;
  /** The stream queue's only: the job as a step of another script (`StreamQueue.entry`). */
  entry?(job: RunJobV1, options: JobOptions): StreamJobEntry;
  standing(jobId: string): Promise<JobStanding>;
  requeue(jobId: string, job: RunJobV1, options: { attempts: number }): Promise<boolean>;
  removeFinished(jobId: string): Promise<JobStanding>;
  counts(): Promise<QueueCounts>;
  close(): Promise<void>;
}

/**
 * The run queue agent-api (and a coordinator delivering mesh messages) enqueues to and the reconciler inspects, on
 * the Redis queue `RUN_QUEUE` names (`createRunQueue`). Closed with the application.
 */
export class RunQueue implements RunJobQueue, OnApplicationShutdown {
  constructor(private readonly backend: RunQueueBackend) {}

  /** Queue name, `runs.v1`. */
  get name(): string {
    return this.backend.name;
  }

  add(job: RunJobV1, options: JobOptions): Promise<string> {
    return this.backend.add(job, options);
  }

  addBulk(jobs: readonly { payload: RunJobV1; options: JobOptions }[]): Promise<string[]> {
    return this.backend.addBulk(jobs);
  }

  /** The job as the last step of a new run's admission script: on the stream queue only (BullMQ adds its own way). */
  entry(job: RunJobV1, options: JobOptions): StreamJobEntry | undefined {
    return this.backend.entry?.(job, options);
  }

  /** Where the job of run `jobId` stands. */
  standing(jobId: string): Promise<JobStanding> {
    return this.backend.standing(jobId);
  }

  /** Enqueues the run's job again unless one is pending or active; resolves with whether it did. */
  requeue(jobId: string, job: RunJobV1, options: { attempts: number }): Promise<boolean> {
    return this.backend.requeue(jobId, job, options);
  }

  removeFinished(jobId: string): Promise<JobStanding> {
    return this.backend.removeFinished(jobId);
  }

  counts(): Promise<QueueCounts> {
    return this.backend.counts();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.backend.close();
  }
}

/**
 * The run queue of kind `kind` on `redis`. BullMQ's wants a connection of its own (see `RunLifecycleModule`); the
 * stream queue's retention is applied by the workers that finish its jobs.
 */
export function createRunQueue(kind: RunQueueKind, redis: RedisClient, keyPrefix: string, retention?: RunJobRetention): RunQueue {
  if (kind === 'streams') return new RunQueue(new StreamQueue(Queues.runs, { connection: redis, keyPrefix }));
  return new RunQueue(
    new TypedQueue(Queues.runs, {
      connection: redis,
      keyPrefix,
      defaultJobOptions: retention ? { keepCompleted: retention.completed, keepFailed: retention.failed } : {},
    }),
  );
}
