import { Module } from '@nestjs/common';
import { AgentRegistry } from '@skreaver/agent-runtime';
import { RunEventLog, StreamProducer, StreamReader } from '@skreaver/messaging';

import { RunJobsConsumer } from '../consumers/run-jobs.consumer';
import { RunExecutionService } from './run-execution.service';
import { RunMetrics } from './run-metrics';

@Module({
  providers: [
    RunExecutionService,
    RunJobsConsumer,
    RunMetrics,
    { provide: AgentRegistry, useFactory: () => new AgentRegistry() },
    {
      provide: RunEventLog,
      inject: [StreamProducer, StreamReader],
      useFactory: (producer: StreamProducer, reader: StreamReader) => new RunEventLog(producer, reader),
    },
  ],
  exports: [RunJobsConsumer],
})
export class RunsModule {}
