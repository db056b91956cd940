import { Module } from '@nestjs/common';
import { MessagingModule } from '@skreaver/messaging';
import { PersistenceModule } from '@skreaver/persistence';
import { RunLifecycleModule } from '@skreaver/runs';

import { ObserveService } from './observe.service';
import { RunEventsHub } from './run-events.hub';
import { RunResponder } from './run-responder';
import { RunResumeService } from './run-resume.service';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

@Module({
  imports: [MessagingModule, PersistenceModule, RunLifecycleModule],
  controllers: [RunsController],
  providers: [RunsService, ObserveService, RunEventsHub, RunResponder, RunResumeService],
  exports: [RunsService, RunResponder],
})
export class RunsModule {}
