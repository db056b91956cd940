import { Module } from '@nestjs/common';
import { AgentRegistry, AgentRunner } from '@skreaver/agent-runtime';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';
import { RunJobsConsumer } from '../consumers/run-jobs.consumer';
import { AgentMemoryService } from './agent-memory.service';
import { createAgentRegistry, createAgentRunner } from './agent-runtime.factory';
import { QueueMetrics } from './queue-metrics';
import { RunExecutionService } from './run-execution.service';
import { RunMetrics } from './run-metrics';
import { ToolMetrics } from './tool-metrics';

@Module({
  providers: [
    RunExecutionService,
    RunJobsConsumer,
    RunMetrics,
    ToolMetrics,
    QueueMetrics,
    AgentMemoryService,
    { provide: AgentRegistry, inject: [MESH_COORDINATOR_CONFIG], useFactory: createAgentRegistry },
    {
      provide: AgentRunner,
      inject: [MESH_COORDINATOR_CONFIG, AgentRegistry, AgentMemoryService, ToolMetrics],
      useFactory: (config: MeshCoordinatorConfig, registry: AgentRegistry, memory: AgentMemoryService, metrics: ToolMetrics) =>
        createAgentRunner(config, registry, memory, metrics),
    },
  ],
  exports: [RunJobsConsumer],
})
export class RunsModule {}
