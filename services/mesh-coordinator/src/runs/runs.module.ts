import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@skreaver/messaging';
import { PersistenceModule } from '@skreaver/persistence';
import { RunExecutionModule, RunLifecycleModule } from '@skreaver/runs';

import type { MeshCoordinatorConfig } from '../config';
import { RunJobsConsumer } from '../consumers/run-jobs.consumer';
import { QueueMetrics } from './queue-metrics';
import { RunReconcilerService } from './run-reconciler.service';

/** The run worker: jobs off the run queue, executed by the shared `RunExecutor`; and the run reconciler. */
@Module({})
export class RunsModule {
  static forRoot(config: MeshCoordinatorConfig): DynamicModule {
    const execution = RunExecutionModule.forRoot(config, { meshEnabled: config.SKREAVER_MESH_ENABLED });
    return {
      module: RunsModule,
      imports: [MessagingModule, PersistenceModule, RunLifecycleModule, execution],
      providers: [RunJobsConsumer, QueueMetrics, RunReconcilerService],
      exports: [RunJobsConsumer, execution],
    };
  }
}
