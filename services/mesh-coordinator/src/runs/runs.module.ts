import { Module } from '@nestjs/common';
import { AgentRegistry } from '@skreaver/agent-runtime';

import { RunJobsConsumer } from '../consumers/run-jobs.consumer';
import { RunExecutionService } from './run-execution.service';
import { RunMetrics } from './run-metrics';

@Module({
  providers: [
    RunExecutionService,
    RunJobsConsumer,
    RunMetrics,
    { provide: AgentRegistry, useFactory: () => new AgentRegistry() },
  ],
  exports: [RunJobsConsumer],
})
export class RunsModule {}
