import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { AgentRunSlots, MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import type Redis from 'ioredis';

import { RunCancellation } from './run-cancellation';
import { RunDispatcher } from './run-dispatcher';
import { RunQueue } from './run-queue';

export interface RunLifecycleOptions {
  /** Attempts each run gets before it fails for good. */
  maxAttempts: number;
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
        {
          provide: RunDispatcher,
          inject: [AgentRunSlots, RunQueue],
          useFactory: (slots: AgentRunSlots, queue: RunQueue) => new RunDispatcher(slots, queue, options.maxAttempts),
        },
        {
          provide: RunCancellation,
          inject: [REDIS, MESSAGING_OPTIONS],
          useFactory: (redis: Redis, messaging: MessagingOptions) => new RunCancellation(redis, messaging.keyPrefix),
        },
      ],
      exports: [RunQueue, RunDispatcher, RunCancellation],
    };
  }
}
