import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { Queues } from '@skreaver/contracts';
import { MESSAGING_OPTIONS, REDIS, TypedQueue } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import type { RedisClient } from '@skreaver/messaging';

/** The run queue agent-api enqueues to; closed with the application. */
@Injectable()
export class RunQueue extends TypedQueue<typeof Queues.runs> implements OnApplicationShutdown {
  constructor(@Inject(REDIS) redis: RedisClient, @Inject(MESSAGING_OPTIONS) options: MessagingOptions) {
    super(Queues.runs, { connection: redis, keyPrefix: options.keyPrefix });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
