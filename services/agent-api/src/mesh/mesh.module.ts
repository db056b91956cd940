import { Module } from '@nestjs/common';
import { MessagingModule } from '@skreaver/messaging';
import { RunLifecycleModule } from '@skreaver/runs';

import { MeshApiMetrics } from './mesh-api.metrics';
import { MeshController } from './mesh.controller';
import { MeshService } from './mesh.service';

@Module({
  imports: [MessagingModule, RunLifecycleModule],
  controllers: [MeshController],
  providers: [MeshService, MeshApiMetrics],
})
export class MeshModule {}
