import { Module } from '@nestjs/common';
import type { DynamicModule, Provider } from '@nestjs/common';
import { AgentRegistry, AgentRunner } from '@skreaver/agent-runtime';
import { MESSAGING_OPTIONS, MeshStore, MessagingModule, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import type { RedisClient } from '@skreaver/messaging';
import { PersistenceModule } from '@skreaver/persistence';

import { MeshPublisher } from '../mesh-publisher';
import { RunLifecycleModule } from '../run-lifecycle.module';
import { AgentMemoryStore } from './agent-memory.store';
import { createAgentRegistry, createAgentRunner } from './agent-runtime.factory';
import { DirectRunRecovery } from './direct-run-recovery';
import { InProcessRunWorker } from './in-process-run.worker';
import { LlmMetrics } from './llm-metrics';
import { InputExpiryService } from './input-expiry.service';
import { RetentionService } from './retention.service';
import { PublishingMeshClient } from './publishing-mesh.client';
import type { RunExecutionConfig } from './run-execution.config';
import { RUN_EXECUTION_CONFIG, RUN_EXECUTION_SHUTDOWN_GRACE_MS } from './run-execution.tokens';
import { RunExecutor } from './run-executor';
import { RunLeases } from './run-leases';
import { RunMetrics } from './run-metrics';
import { ToolMetrics } from './tool-metrics';
import { ThreadTurns } from '../threads/thread-turns';

export interface RunExecutionOptions {
  /** False: the agents' `mesh_send` / `mesh_request` fail with `mesh_disabled`. */
  meshEnabled: boolean;
  /**
   * Set in direct mode: this process executes the runs of the in-process run queue (`RunLifecycleModule` with
   * `dispatch: 'in-process'`); shutdown waits this long for runs in flight before aborting them.
   */
  inProcess?: { shutdownGraceMs: number };
}

/**
 * Executing runs: the agent kinds (built-in and plugins, loaded now: a plugin that cannot load stops the boot),
 * limits, tools with their network policy and metrics, agent memory, and the `RunExecutor`. mesh-coordinator
 * feeds it from the Redis run queue; agent-api in direct mode from the in-process queue (`InProcessRunWorker`).
 */
@Module({})
export class RunExecutionModule {
  static forRoot(config: RunExecutionConfig, options: RunExecutionOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: RUN_EXECUTION_CONFIG, useValue: config },
      RunExecutor,
      InputExpiryService,
      RetentionService,
      ThreadTurns,
      RunMetrics,
      ToolMetrics,
      LlmMetrics,
      AgentMemoryStore,
      { provide: AgentRegistry, useFactory: () => createAgentRegistry(config) },
      {
        provide: AgentRunner,
        inject: [AgentRegistry, AgentMemoryStore, ToolMetrics, MeshPublisher, MeshStore, LlmMetrics],
        useFactory: (registry: AgentRegistry, memory: AgentMemoryStore, metrics: ToolMetrics, publisher: MeshPublisher, store: MeshStore, llm: LlmMetrics) =>
          createAgentRunner(config, registry, memory, metrics, new PublishingMeshClient(publisher, store, options.meshEnabled), llm),
      },
    ];
    if (options.inProcess) {
      providers.push(
        { provide: RUN_EXECUTION_SHUTDOWN_GRACE_MS, useValue: options.inProcess.shutdownGraceMs },
        InProcessRunWorker,
        {
          provide: RunLeases,
          inject: [REDIS, MESSAGING_OPTIONS],
          useFactory: (redis: RedisClient, messaging: MessagingOptions) => new RunLeases(redis, messaging.keyPrefix, config.RUN_DIRECT_LEASE_MS),
        },
        DirectRunRecovery,
      );
    }
    return {
      module: RunExecutionModule,
      imports: [MessagingModule, PersistenceModule, RunLifecycleModule],
      providers,
      exports: [RunExecutor, RUN_EXECUTION_CONFIG],
    };
  }
}
