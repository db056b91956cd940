import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { AgentRunSlots, MESSAGING_OPTIONS, REDIS, RunEventLog, StreamProducer } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { AgentRepository, RunEventArchive, RunRepository } from '@skreaver/persistence';
import type Redis from 'ioredis';

import { InProcessRunQueue } from './in-process-run-queue';
import { MeshPublisher } from './mesh-publisher';
import { QueuedRunCanceller } from './queued-run-canceller';
import type { MeshPublisherOptions } from './mesh-publisher';
import { RunCancellation } from './run-cancellation';
import { RunCreator } from './run-creator';
import { RunDispatcher } from './run-dispatcher';
import { RunQueue } from './run-queue';

export interface RunLifecycleOptions {
  /** Attempts each run gets before it fails for good. */
  maxAttempts: number;
  /** How long the Redis log of a run cancelled before it started stays there once archived. */
  eventsTtlSeconds: number;
  /**
   * Where admitted runs go: `queue` (default) the BullMQ run queue that coordinators take jobs from; `in-process`
   * an `InProcessRunQueue` that this process handles itself (agent-api in direct mode, see `RunExecutionModule`).
   */
  dispatch?: 'queue' | 'in-process';
  /** Mesh inbox limit and stream length; defaults: 1000 runs, the stream's own MAXLEN. */
  mesh?: Partial<MeshPublisherOptions>;
}

/** The run queue, the dispatcher and cancellation signals, for any service that starts, ends or cancels runs. */
@Module({})
export class RunLifecycleModule {
  static forRoot(options: RunLifecycleOptions): DynamicModule {
    return {
      module: RunLifecycleModule,
      // One queue connection per process, used by several feature modules (like MessagingModule).
      global: true,
      providers: [
        RunQueue,
        { provide: InProcessRunQueue, useFactory: () => new InProcessRunQueue() },
        {
          provide: RunDispatcher,
          inject: [AgentRunSlots, RunQueue, InProcessRunQueue],
          useFactory: (slots: AgentRunSlots, queue: RunQueue, inProcess: InProcessRunQueue) =>
            new RunDispatcher(slots, options.dispatch === 'in-process' ? inProcess : queue, options.maxAttempts),
        },
        {
          provide: RunCancellation,
          inject: [REDIS, MESSAGING_OPTIONS],
          useFactory: (redis: Redis, messaging: MessagingOptions) => new RunCancellation(redis, messaging.keyPrefix),
        },
        {
          provide: QueuedRunCanceller,
          inject: [RunRepository, RunEventLog, RunEventArchive, RunDispatcher],
          useFactory: (runs: RunRepository, log: RunEventLog, archive: RunEventArchive, dispatcher: RunDispatcher) =>
            new QueuedRunCanceller(runs, log, archive, dispatcher, options.eventsTtlSeconds),
        },
        {
          provide: RunCreator,
          inject: [RunRepository, RunEventLog, RunDispatcher, RunCancellation, QueuedRunCanceller],
          useFactory: (runs: RunRepository, log: RunEventLog, dispatcher: RunDispatcher, cancellation: RunCancellation, canceller: QueuedRunCanceller) =>
            new RunCreator(runs, log, dispatcher, cancellation, canceller, options.eventsTtlSeconds),
        },
        {
          provide: MeshPublisher,
          inject: [AgentRepository, RunDispatcher, StreamProducer],
          useFactory: (agents: AgentRepository, dispatcher: RunDispatcher, producer: StreamProducer) =>
            new MeshPublisher(agents, dispatcher, producer, { inboxLimit: options.mesh?.inboxLimit ?? 1_000, streamMaxLen: options.mesh?.streamMaxLen }),
        },
      ],
      exports: [RunQueue, InProcessRunQueue, RunDispatcher, RunCancellation, QueuedRunCanceller, RunCreator, MeshPublisher],
    };
  }
}
