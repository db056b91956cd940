import { Module } from '@nestjs/common';

import { ObserveService } from './observe.service';
import { RunEventsHub } from './run-events.hub';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

@Module({
  controllers: [RunsController],
  providers: [RunsService, ObserveService, RunEventsHub],
  exports: [RunsService],
})
export class RunsModule {}
