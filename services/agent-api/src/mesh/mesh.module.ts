import { Module } from '@nestjs/common';

import { MeshApiMetrics } from './mesh-api.metrics';
import { MeshController } from './mesh.controller';
import { MeshService } from './mesh.service';

@Module({
  controllers: [MeshController],
  providers: [MeshService, MeshApiMetrics],
})
export class MeshModule {}
