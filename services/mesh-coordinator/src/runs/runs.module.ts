import { Module } from '@nestjs/common';
import { AgentRegistry, AgentRunner } from '@skreaver/agent-runtime';
import { MeshStore } from '@skreaver/messaging';
import { MeshPublisher } from '@skreaver/runs';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';
import { RunJobsConsumer } from '../consumers/run-jobs.consumer';
import { CoordinatorMeshClient } from '../mesh/coordinator-mesh.client';
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
      inject: [MESH_COORDINATOR_CONFIG, AgentRegistry, AgentMemoryService, ToolMetrics, MeshPublisher, MeshStore],
      useFactory: (
        config: MeshCoordinatorConfig,
        registry: AgentRegistry,
        memory: AgentMemoryService,
        metrics: ToolMetrics,
        publisher: MeshPublisher,
        store: MeshStore,
      ) => createAgentRunner(config, registry, memory, metrics, new CoordinatorMeshClient(publisher, store, config.SKREAVER_MESH_ENABLED)),
    },
  ],
  exports: [RunJobsConsumer, RunExecutionService],
})
export class RunsModule {}
