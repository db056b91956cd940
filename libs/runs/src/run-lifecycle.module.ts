import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@skreaver/config';
import { AgentRunSlots, MESSAGING_OPTIONS, MessagingModule, REDIS, RedisConnections, RunEventLog, StreamProducer } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { AgentRepository, PersistenceModule, RunBatchWriter, RunEventArchive, RunRepository, ThreadRepository } from '@skreaver/persistence';
import type { RedisClient } from '@skreaver/messaging';

import { InProcessRunQueue } from './in-process-run-queue';
import { MeshPublisher } from './mesh-publisher';
import { QueuedRunCanceller } from './queued-run-canceller';
import type { MeshPublisherOptions } from './mesh-publisher';
import { RunBatchCreator } from './run-batch-creator';
import { RunCancellation } from './run-cancellation';
import { RunCreator } from './run-creator';
import { RunDispatcher } from './run-dispatcher';
import { RunQueue, createRunQueue } from './run-queue';
import type { RunJobRetention, RunQueueKind } from './run-queue';
import { RunResumer } from './run-resumer';
import { ThreadRunGates } from './threads/thread-run-gate';
import { threadRunSlots } from './threads/thread-run-slots';

export interface RunLifecycleOptions {
  /** Attempts each run gets before it fails for good. */
  maxAttempts: number;
  /** How long the Redis log of a run cancelled before it started stays there once archived. */
  eventsTtlSeconds: number;
  /**
   * Where admitted runs go: `queue` (default) the Redis run queue that coordinators take jobs from; `in-process`
   * an `InProcessRunQueue` that this process handles itself (agent-api in direct mode, see `RunExecutionModule`).
   */
  dispatch?: 'queue' | 'in-process';
  /** Mesh inbox limit and stream length; defaults: 1000 runs, the stream's own MAXLEN. */
  mesh?: Partial<MeshPublisherOptions>;
  /** Finished run jobs kept in Redis (`runJobRetention(config)`); default `DEFAULT_JOB_RETENTION`. */
  jobRetention?: RunJobRetention;
  /** Which Redis queue carries run jobs (`RUN_QUEUE`); default `streams`. */
  queue?: RunQueueKind;
}

/** Injection token of the `RunLifecycleOptions` of `RunLifecycleModule.forRoot`. */
export const RUN_LIFECYCLE_OPTIONS = Symbol('skreaver.runs.lifecycle-options');

/**
 * The run queue, the dispatcher and cancellation signals, for any service that starts, ends or cancels runs. Not
 * global: every module that injects one of them imports `RunLifecycleModule` (one instance, one queue connection,
 * however many import it); `RunLifecycleModule.forRoot(options)`, imported once by the app module, supplies its options.
 */
@Module({
  imports: [MessagingModule, PersistenceModule],
  providers: [
    {
      provide: RunQueue,
      inject: [RedisConnections, MESSAGING_OPTIONS, RUN_LIFECYCLE_OPTIONS],
      // BullMQ gets a connection of its own: its scripts on the shared one would be copied into every pipeline
      // ioredis builds there (each auto-pipelined write), a cost every request paid (`RedisConnections.dedicated`).
      // The stream queue's scripts go by EVALSHA and ride the shared connection's pipelines with the admission's.
      useFactory: (connections: RedisConnections, messaging: MessagingOptions, options: RunLifecycleOptions) => {
        const kind = options.queue ?? 'streams';
        const redis = kind === 'bullmq' ? connections.dedicated('queue') : connections.shared;
        return createRunQueue(kind, redis, messaging.keyPrefix, options.jobRetention);
      },
    },
    { provide: InProcessRunQueue, useFactory: () => new InProcessRunQueue() },
    {
      provide: RunDispatcher,
      inject: [AgentRunSlots, RunQueue, InProcessRunQueue, RUN_LIFECYCLE_OPTIONS, REDIS, MESSAGING_OPTIONS],
      useFactory: (slots: AgentRunSlots, queue: RunQueue, inProcess: InProcessRunQueue, options: RunLifecycleOptions, redis: RedisClient, messaging: MessagingOptions) =>
        new RunDispatcher(slots, options.dispatch === 'in-process' ? inProcess : queue, options.maxAttempts, threadRunSlots(redis, messaging.keyPrefix)),
    },
    {
      provide: RunCancellation,
      inject: [REDIS, MESSAGING_OPTIONS],
      useFactory: (redis: RedisClient, messaging: MessagingOptions) => new RunCancellation(redis, messaging.keyPrefix),
    },
    {
      provide: QueuedRunCanceller,
      inject: [RunRepository, RunEventLog, RunEventArchive, RunDispatcher, RUN_LIFECYCLE_OPTIONS, ThreadRepository],
      useFactory: (runs: RunRepository, log: RunEventLog, archive: RunEventArchive, dispatcher: RunDispatcher, options: RunLifecycleOptions, threads: ThreadRepository) =>
        new QueuedRunCanceller(runs, log, archive, dispatcher, options.eventsTtlSeconds, threads),
    },
    {
      provide: RunCreator,
      inject: [RunRepository, RunEventLog, RunDispatcher, RunCancellation, QueuedRunCanceller, RUN_LIFECYCLE_OPTIONS, REDIS],
      useFactory: (
        runs: RunRepository,
        log: RunEventLog,
        dispatcher: RunDispatcher,
        cancellation: RunCancellation,
        canceller: QueuedRunCanceller,
        options: RunLifecycleOptions,
        redis: RedisClient,
      ) => new RunCreator(runs, log, dispatcher, cancellation, canceller, options.eventsTtlSeconds, redis),
    },
    {
      provide: RunBatchCreator,
      inject: [RunBatchWriter, RunEventLog, RunDispatcher],
      useFactory: (writer: RunBatchWriter, log: RunEventLog, dispatcher: RunDispatcher) => new RunBatchCreator(writer, log, dispatcher),
    },
    {
      provide: RunResumer,
      inject: [RunRepository, RunEventLog, RunDispatcher, RUN_LIFECYCLE_OPTIONS, ThreadRepository],
      useFactory: (runs: RunRepository, log: RunEventLog, dispatcher: RunDispatcher, options: RunLifecycleOptions, threads: ThreadRepository) =>
        new RunResumer(runs, log, dispatcher, options.maxAttempts, threads),
    },
    {
      provide: ThreadRunGates,
      inject: [RunDispatcher, RunRepository, QueuedRunCanceller, RunCancellation],
      useFactory: (dispatcher: RunDispatcher, runs: RunRepository, canceller: QueuedRunCanceller, cancellation: RunCancellation) =>
        new ThreadRunGates(dispatcher, runs, canceller, cancellation),
    },
    {
      provide: MeshPublisher,
      inject: [AgentRepository, RunDispatcher, StreamProducer, RUN_LIFECYCLE_OPTIONS],
      useFactory: (agents: AgentRepository, dispatcher: RunDispatcher, producer: StreamProducer, options: RunLifecycleOptions) =>
        new MeshPublisher(agents, dispatcher, producer, { inboxLimit: options.mesh?.inboxLimit ?? 1_000, streamMaxLen: options.mesh?.streamMaxLen }),
    },
  ],
  exports: [RunQueue, InProcessRunQueue, RunDispatcher, RunCancellation, QueuedRunCanceller, RunCreator, RunBatchCreator, RunResumer, MeshPublisher, ThreadRunGates],
})
export class RunLifecycleModule {
  /** The service's run settings, as `RUN_LIFECYCLE_OPTIONS` to every module through `ConfigModule` (configuration). Import it once, in the app module. */
  static forRoot(options: RunLifecycleOptions): DynamicModule {
    return ConfigModule.register(RUN_LIFECYCLE_OPTIONS, Object.freeze({ ...options }));
  }
}
