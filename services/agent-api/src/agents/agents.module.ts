import { Module } from '@nestjs/common';
import { AgentRegistry } from '@skreaver/agent-runtime';

import { RunsModule } from '../runs/runs.module';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';

@Module({
  imports: [RunsModule],
  controllers: [AgentsController],
  providers: [AgentsService, { provide: AgentRegistry, useFactory: () => new AgentRegistry() }],
  exports: [AgentsService],
})
export class AgentsModule {}
