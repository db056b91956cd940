import { Module } from '@nestjs/common';

import { RunsModule } from '../runs/runs.module';
import { AgentPresenceService } from './agent-presence.service';
import { MeshDeliveryService } from './mesh-delivery.service';
import { MeshHooksService } from './mesh-hooks.service';
import { MeshMetrics } from './mesh-metrics';
import { MeshPresenceService } from './mesh-presence.service';
import { StreamMetrics } from './stream-metrics';

/** Mesh delivery, presence, replies of request/reply and the stream metrics, on top of the run workers. */
@Module({
  imports: [RunsModule],
  providers: [AgentPresenceService, MeshDeliveryService, MeshHooksService, MeshPresenceService, MeshMetrics, StreamMetrics],
  exports: [MeshDeliveryService],
})
export class MeshModule {}
