import { Agent, AgentConcurrency, AgentStatus, Timestamp } from '@skreaver/contracts';
import type { AgentKind, JsonValue } from '@skreaver/contracts';

import { DataSource, Repository } from 'typeorm';

import { AgentEntity } from './entities/agent.entity';
import { agentActivitySettler } from './agent-activity.settler';
import type { AgentActivitySettler } from './agent-activity.settler';
import { HotSql } from './hot-sql';
import { fromJsonText, toJsonText } from './json-text';

// Written at the start and end of runs: hand-written SQL (HotSql), not the query builder.
const UPDATE_ACTIVITY = 'UPDATE agents SET status = $1, last_activity = $2 WHERE id = $3 AND tenant_id = $4';
// Read by every run a coordinator executes (and every request naming an agent): hand-written too.
const SELECT_AGENT =
  'SELECT id, tenant_id, name, kind, config, concurrency, status, created_at, updated_at, last_activity FROM agents WHERE id = $1 AND tenant_id = $2';

export interface AgentListOptions {
  limit: number;
  kind?: AgentKind;
  status?: AgentStatus;
  nameContains?: string;
  before?: { created_at: string; id: string };
}

export interface AgentChanges {
  name?: string;
  config?: Record<string, JsonValue>;
  concurrency?: AgentConcurrency;
  updated_at: string;
}

// LIKE wildcards in user input must match literally.
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Reads and writes agents; rows are translated to and from the `Agent` contract. */
export class AgentRepository {
  private readonly rows: Repository<AgentEntity>;
  private readonly sql: HotSql;
  private readonly settler: AgentActivitySettler;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(AgentEntity);
    this.sql = new HotSql(dataSource);
    this.settler = agentActivitySettler(dataSource);
  }

  /** Stores a new agent. @throws when the id already exists or the agent does not match the contract. */
  async insert(agent: Agent): Promise<Agent> {
    const valid = Agent.parse(agent);
    await this.rows.createQueryBuilder().insert().values(toRow(valid)).updateEntity(false).execute();
    return valid;
  }

  /** The agent with `id` in `tenantId`, or null (also when it belongs to another tenant). */
  async findById(tenantId: string, id: string): Promise<Agent | null> {
    const [row] = await this.sql.rows<AgentEntity>(SELECT_AGENT, [id, tenantId]);
    return row ? toAgent(row) : null;
  }

  /** The agent with `id` whatever its tenant, for workers that only hold an agent id (the run reconciler). */
  async findByIdAnyTenant(id: string): Promise<Agent | null> {
    const row = await this.rows.findOneBy({ id });
    return row ? toAgent(row) : null;
  }

  /**
   * A tenant's agents, newest first, optionally filtered; `before` is the (created_at, id) of the last agent of the
   * previous page (keyset pagination: stable while agents are added).
   */
  async list(tenantId: string, options: AgentListOptions): Promise<Agent[]> {
    const query = this.rows
      .createQueryBuilder('agent')
      .where('agent.tenant_id = :tenantId', { tenantId })
      .orderBy('agent.created_at', 'DESC')
      .addOrderBy('agent.id', 'DESC')
      .take(options.limit);
    if (options.kind) query.andWhere('agent.kind = :kind', { kind: options.kind });
    if (options.status) query.andWhere('agent.status = :status', { status: options.status });
    if (options.nameContains) {
      query.andWhere("agent.name LIKE :name ESCAPE '\\'", { name: `%${escapeLike(options.nameContains)}%` });
    }
    if (options.before) {
      // A row value, so the database seeks to the cursor in its (tenant_id[, kind | status], created_at, id) index
      // instead of reading every newer agent: a deep page costs what the first does.
      query.andWhere('(agent.created_at, agent.id) < (:createdAt, :id)', {
        createdAt: options.before.created_at,
        id: options.before.id,
      });
    }
    return (await query.getMany()).map(toAgent);
  }

  /** Applies `changes` to the tenant's agent; returns the updated agent, or null when there is none. */
  async update(tenantId: string, id: string, changes: AgentChanges): Promise<Agent | null> {
    const set: Partial<AgentEntity> = { updated_at: Timestamp.parse(changes.updated_at) };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.config !== undefined) set.config = toJsonText(changes.config);
    if (changes.concurrency !== undefined) set.concurrency = toJsonText(AgentConcurrency.parse(changes.concurrency));
    const result = await this.rows.createQueryBuilder().update().set(set).where({ tenant_id: tenantId, id }).updateEntity(false).execute();
    if ((result.affected ?? 0) === 0) return null;
    return this.findById(tenantId, id);
  }

  /** Deletes the tenant's agent (its runs, events and memory cascade); returns whether it existed. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await this.rows.createQueryBuilder().delete().where({ tenant_id: tenantId, id }).execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Records that a run of the agent ended at `at` (its row already says so): the agent becomes idle unless another of
   * its runs is running. A missing agent is ignored. Calls for one agent at once share a transaction
   * (`AgentActivitySettler`).
   */
  settleActivity(tenantId: string, id: string, at: string): Promise<void> {
    return this.settler.settle(tenantId, id, at);
  }

  /** Records the agent's status and when it last did something; a missing agent is ignored. */
  async updateActivity(tenantId: string, id: string, status: AgentStatus, at: string): Promise<void> {
    await this.sql.run(UPDATE_ACTIVITY, [AgentStatus.parse(status), Timestamp.parse(at), id, tenantId]);
  }
}

function toRow(agent: Agent): AgentEntity {
  return {
    id: agent.id,
    tenant_id: agent.tenant_id,
    name: agent.name,
    kind: agent.kind,
    config: toJsonText(agent.config),
    concurrency: toJsonText(agent.concurrency),
    status: agent.status,
    created_at: agent.created_at,
    updated_at: agent.updated_at,
    last_activity: agent.last_activity,
  };
}

// Not parsed with `Agent` again: rows are written only through this repository, from agents checked against the
// contract (`insert` parses the whole agent; `update` writes a checked name, config and concurrency; the concurrency
// column's default is a complete policy). On every request that names an agent (`GET /agents/{id}`, each new run)
// the parse, zod's recursive JSON check of the config and the id and timestamp patterns, cost agent-api ~3 % of its
// CPU per request, for output it had already checked on the way in.
function toAgent(row: AgentEntity): Agent {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    kind: row.kind,
    config: fromJsonText(row.config) as Agent['config'],
    concurrency: fromJsonText(row.concurrency) as AgentConcurrency,
    status: row.status as AgentStatus,
    created_at: row.created_at,
    updated_at: row.updated_at,
    last_activity: row.last_activity,
  };
}
