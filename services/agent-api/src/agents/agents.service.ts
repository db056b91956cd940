import { Injectable } from '@nestjs/common';
import type { Agent, CreateAgentRequest } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { AgentRepository } from '@skreaver/persistence';
import { newId, nowIso } from '@skreaver/util';

import { databaseCall } from '../database-call';

/** Agent lifecycle: create, read, list. */
@Injectable()
export class AgentsService {
  constructor(private readonly agents: AgentRepository) {}

  async create(tenantId: string, request: CreateAgentRequest): Promise<Agent> {
    const now = nowIso();
    const agent: Agent = {
      id: newId(),
      tenant_id: tenantId,
      name: request.name,
      kind: request.kind,
      config: request.config,
      status: 'idle',
      created_at: now,
      updated_at: now,
      last_activity: null,
    };
    return databaseCall(() => this.agents.insert(agent));
  }

  /** The agent, or 404 `not_found` (also for another tenant's agent: it must stay invisible). */
  async get(tenantId: string, id: string): Promise<Agent> {
    const agent = await databaseCall(() => this.agents.findById(tenantId, id));
    if (!agent) throw ApiError.notFound(`agent ${id}`);
    return agent;
  }

  list(tenantId: string, limit: number): Promise<Agent[]> {
    return databaseCall(() => this.agents.list(tenantId, { limit }));
  }
}
