import { Module } from '@nestjs/common';
import { PersistenceModule } from '@skreaver/persistence';
import { RunLifecycleModule } from '@skreaver/runs';

import { AuditModule } from '../audit/audit.module';
import { RunsModule } from '../runs/runs.module';
import { ThreadsController } from './threads.controller';
import { ThreadsService } from './threads.service';

/** Threads: conversations with an agent, their runs, history and forks. */
@Module({
  imports: [PersistenceModule, RunLifecycleModule, RunsModule, AuditModule],
  controllers: [ThreadsController],
  providers: [ThreadsService],
})
export class ThreadsModule {}
