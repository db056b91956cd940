import { Module } from '@nestjs/common';

import { AgentsModule } from '../agents/agents.module';
import { RunQueue } from './run-queue';
import { RunsService } from './runs.service';
import { RunsController } from './runs.controller';

@Module({
  imports: [AgentsModule],
  controllers: [RunsController],
  providers: [
    RunsService,
    RunQueue,
  ],
})
export class RunsModule {}
