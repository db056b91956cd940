import { Agent, AgentStatus, Timestamp } from '@skreaver/contracts';

import { DataSource, Repository } from 'typeorm';

import { AgentEntity } from './entities/agent.entity';
import { fromJsonText, toJsonText } from './json-text';

/** Reads and writes agents; rows are translated to and from the `Agent` contract. */
export class AgentRepository {
  private readonly rows: Repository<AgentEntity>;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(AgentEntity);
  }

  /** Stores a new agent. @throws when the id already exists or the agent does not match the contract. */
  async insert(agent: Agent): Promise<Agent> {
    const valid = Agent.parse(agent);
    await this.rows.createQueryBuilder().insert().values(toRow(valid)).updateEntity(false).execute();
    return valid;
  }

  /** The agent with `id` in `tenantId`, or null (also when it belongs to another tenant). */
  async findById(tenantId: string, id: string): Promise<Agent | null> {
    const row = await this.rows.findOneBy({ tenant_id: tenantId, id });
    return row ? toAgent(row) : null;
  }

  /** A tenant's agents, newest first. */
  async list(tenantId: string, options: { limit: number }): Promise<Agent[]> {
    const rows = await this.rows.find({
      where: { tenant_id: tenantId },
      order: { created_at: 'DESC', id: 'DESC' },
      take: options.limit,
    });
    return rows.map(toAgent);
  }

  /** Records the agent's status and when it last did something; a missing agent is ignored. */
  async updateActivity(tenantId: string, id: string, status: AgentStatus, at: string): Promise<void> {
    await this.rows
      .createQueryBuilder()
      .update()
      .set({ status: AgentStatus.parse(status), last_activity: Timestamp.parse(at) })
      .where({ tenant_id: tenantId, id })
      .updateEntity(false)
      .execute();
  }
}

function toRow(agent: Agent): AgentEntity {
  return {
    id: agent.id,
    tenant_id: agent.tenant_id,
    name: agent.name,
    kind: agent.kind,
    config: toJsonText(agent.config),
    status: agent.status,
    created_at: agent.created_at,
    updated_at: agent.updated_at,
    last_activity: agent.last_activity,
  };
}

function toAgent(row: AgentEntity): Agent {
  return Agent.parse({
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    kind: row.kind,
    config: fromJsonText(row.config),
    status: row.status,
    created_at: row.created_at,
    updated_at: row.updated_at,
    last_activity: row.last_activity,
  });
}
