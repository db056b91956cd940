import { Module } from '@nestjs/common';
import { AgentRegistry } from '@skreaver/agent-runtime';
import { PersistenceModule } from '@skreaver/persistence';
import { createAgentRegistry, RunLifecycleModule } from '@skreaver/runs';

import { AuditModule } from '../audit/audit.module';
import { AGENT_API_CONFIG } from '../config';
import { RunsModule } from '../runs/runs.module';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';

/**
 * Agents CRUD. Its registry holds the kinds the coordinators run (built-in and SKREAVER_AGENT_PLUGINS, loaded at boot:
 * a plugin that cannot load stops the service), so a plugin agent's config is checked when the agent is created.
 */
@Module({
  imports: [PersistenceModule, RunLifecycleModule, RunsModule, AuditModule],
  controllers: [AgentsController],
  providers: [AgentsService, { provide: AgentRegistry, inject: [AGENT_API_CONFIG], useFactory: createAgentRegistry }],
  exports: [AgentsService],
})
export class AgentsModule {}
