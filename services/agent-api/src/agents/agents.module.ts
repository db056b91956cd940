import { Module } from '@nestjs/common';
import { AgentRegistry } from '@skreaver/agent-runtime';

import { AuditModule } from '../audit/audit.module';
import { RunsModule } from '../runs/runs.module';
import { loadAgentRegistry } from '../tools/agent-kinds.config';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';

@Module({
  imports: [RunsModule, AuditModule],
  controllers: [AgentsController],
  providers: [AgentsService, { provide: AgentRegistry, useFactory: () => loadAgentRegistry() }],
  exports: [AgentsService],
})
export class AgentsModule {}
