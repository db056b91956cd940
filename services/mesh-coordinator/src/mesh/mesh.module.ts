import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@skreaver/messaging';
import { PersistenceModule } from '@skreaver/persistence';
import { RunLifecycleModule } from '@skreaver/runs';

import { AgentPresenceService } from './agent-presence.service';
import { MeshDeliveryService } from './mesh-delivery.service';
import { MeshHooksService } from './mesh-hooks.service';
import { MeshMetrics } from './mesh-metrics';
import { MeshPresenceService } from './mesh-presence.service';
import { StreamMetrics } from './stream-metrics';

/** Mesh delivery, presence, replies of request/reply and the stream metrics, on top of the run workers. */
@Module({})
export class MeshModule {
  /** `runs`: the app's own `RunsModule.forRoot()` (the very object, so both share one run executor and worker). */
  static forRoot(runs: DynamicModule): DynamicModule {
    return {
      module: MeshModule,
      imports: [MessagingModule, PersistenceModule, RunLifecycleModule, runs],
      providers: [AgentPresenceService, MeshDeliveryService, MeshHooksService, MeshPresenceService, MeshMetrics, StreamMetrics],
      exports: [MeshDeliveryService],
    };
  }
}
