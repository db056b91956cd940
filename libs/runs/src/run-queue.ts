import type { OnApplicationShutdown } from '@nestjs/common';
import { Queues } from '@skreaver/contracts';
import { TypedQueue } from '@skreaver/messaging';
import type { JobRetention, RedisClient } from '@skreaver/messaging';

/** How long finished run jobs stay in Redis (`RUN_JOBS_*`); `TypedQueue`'s defaults when unset. */
export interface RunJobRetention {
  completed: JobRetention;
  failed: JobRetention;
}

/** The run queue agent-api (and a coordinator delivering mesh messages) enqueues to; closed with the application. */
export class RunQueue extends TypedQueue<typeof Queues.runs> implements OnApplicationShutdown {
  constructor(redis: RedisClient, keyPrefix: string, retention?: RunJobRetention) {
    super(Queues.runs, {
      connection: redis,
      keyPrefix,
      defaultJobOptions: retention ? { keepCompleted: retention.completed, keepFailed: retention.failed } : {},
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
