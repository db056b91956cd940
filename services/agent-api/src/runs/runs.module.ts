import { Module } from '@nestjs/common';
import { Queues } from '@skreaver/contracts';
import { MESSAGING_OPTIONS, REDIS, RunEventLog, StreamProducer, StreamReader, TypedQueue } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import type Redis from 'ioredis';

import { AgentsModule } from '../agents/agents.module';
import { RUN_QUEUE, RunsService } from './runs.service';
import { RunsController } from './runs.controller';

@Module({
  imports: [AgentsModule],
  controllers: [RunsController],
  providers: [
    RunsService,
    {
      provide: RunEventLog,
      inject: [StreamProducer, StreamReader],
      useFactory: (producer: StreamProducer, reader: StreamReader) => new RunEventLog(producer, reader),
    },
    {
      provide: RUN_QUEUE,
      inject: [REDIS, MESSAGING_OPTIONS],
      useFactory: (redis: Redis, options: MessagingOptions) =>
        new TypedQueue(Queues.runs, { connection: redis, keyPrefix: options.keyPrefix }),
    },
  ],
})
export class RunsModule {}
