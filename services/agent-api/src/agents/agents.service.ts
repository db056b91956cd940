import { Injectable } from '@nestjs/common';
import { AgentRegistry, restoreSecrets } from '@skreaver/agent-runtime';
import type { DroppedSecret } from '@skreaver/agent-runtime';
import { AgentConcurrency } from '@skreaver/contracts';
import type {
  Agent,
  AgentConcurrencyPatch,
  AgentKind,
  AgentStatusReport,
  CreateAgentRequest,
  JsonValue,
  ListAgentsQuery,
  Principal,
  UpdateAgentRequest,
} from '@skreaver/contracts';
import { ApiError, toValidationIssues } from '@skreaver/http';
import { AgentRepository } from '@skreaver/persistence';
import { RunDispatcher } from '@skreaver/runs';
import { newId, nowIso } from '@skreaver/util';

import { AuditService } from '../audit/audit.service';
import { databaseCall } from '../database-call';
import { RunsService } from '../runs/runs.service';
import { redactAgent } from './agent-secrets';

/** A page of agents and the cursor of the next one. */
export interface AgentPage {
  items: Agent[];
  next_cursor: string | null;
}

/** Agent lifecycle: create (config checked against its kind), read, list, update, delete (cancelling its runs). */
@Injectable()
export class AgentsService {
  constructor(
    private readonly agents: AgentRepository,
    private readonly registry: AgentRegistry,
    private readonly runs: RunsService,
    private readonly dispatcher: RunDispatcher,
    private readonly audit: AuditService,
  ) {}

  async create(tenantId: string, request: CreateAgentRequest): Promise<Agent> {
    this.checkConfig(request.kind, request.config);
    const now = nowIso();
    const agent: Agent = {
      id: newId(),
      tenant_id: tenantId,
      name: request.name,
      kind: request.kind,
      config: request.config,
      concurrency: request.concurrency,
      status: 'idle',
      created_at: now,
      updated_at: now,
      last_activity: null,
    };
    return redactAgent(await databaseCall(() => this.agents.insert(agent)));
  }

  /** The agent as clients see it (secrets redacted), or 404 `not_found` (also for another tenant's agent). */
  async get(tenantId: string, id: string): Promise<Agent> {
    return redactAgent(await this.load(tenantId, id));
  }

  /** The stored agent, secrets included: for this service's own use, never returned as is. */
  private async load(tenantId: string, id: string): Promise<Agent> {
    const agent = await databaseCall(() => this.agents.findById(tenantId, id));
    if (!agent) throw ApiError.notFound(`agent ${id}`);
    return agent;
  }

  async list(tenantId: string, query: ListAgentsQuery): Promise<AgentPage> {
    const items = await databaseCall(() =>
      this.agents.list(tenantId, {
        limit: query.limit,
        kind: query.kind,
        status: query.status,
        nameContains: query.name,
        before: query.cursor ? decodeCursor(query.cursor) : undefined,
      }),
    );
    const last = items[items.length - 1];
    return { items: items.map(redactAgent), next_cursor: items.length === query.limit && last ? encodeCursor(last) : null };
  }

  async status(tenantId: string, id: string): Promise<AgentStatusReport> {
    const agent = await this.load(tenantId, id);
    const depth = await this.dispatcher.depth(agent.id).catch(() => ({ active: 0, pending: 0 }));
    return {
      agent_id: agent.id,
      kind: agent.kind,
      status: agent.status,
      created_at: agent.created_at,
      last_activity: agent.last_activity,
      queue_depth: depth.pending,
      active_runs: depth.active,
      concurrency: agent.concurrency,
    };
  }

  async update(tenantId: string, id: string, changes: UpdateAgentRequest): Promise<Agent> {
    const current = await this.load(tenantId, id);
    const config = changes.config === undefined ? undefined : this.withStoredSecrets(current, changes.config);
    const concurrency = changes.concurrency ? mergeConcurrency(current.concurrency, changes.concurrency) : undefined;
    const updated = await databaseCall(() =>
      this.agents.update(tenantId, id, { name: changes.name, config, concurrency, updated_at: nowIso() }),
    );
    if (!updated) throw ApiError.notFound(`agent ${id}`);
    return redactAgent(updated);
  }

  /** Cancels the agent's queued and running runs, then deletes it with its runs, events and memory; audited under `requestId`. */
  async delete(principal: Principal, id: string, requestId: string): Promise<Agent> {
    const agent = await this.load(principal.tenant_id, id);
    await this.runs.cancelAll(principal.tenant_id, agent.id, 'agent deleted', principal.subject);
    await databaseCall(() => this.agents.delete(principal.tenant_id, agent.id));
    await this.dispatcher.clear(agent.id).catch(() => undefined);
    await this.audit.record(principal, requestId, 'agent.deleted', agent.id, { name: agent.name, kind: agent.kind });
    return agent;
  }

  /**
   * The new config, checked, with the stored secrets the client sent back as placeholders; a secret whose destination
   * changed is not carried over, and when the kind requires it the answer is 400 saying it must be supplied again.
   */
  private withStoredSecrets(current: Agent, next: Agent['config']): Agent['config'] {
    const restored = restoreSecrets(next, current.config);
    // restoreSecrets keeps an object an object: it only ever replaces or drops values inside it.
    const config = restored.value as Agent['config'];
    this.checkConfig(current.kind, config, restored.dropped);
    return config;
  }

  private checkConfig(kind: AgentKind, config: Record<string, JsonValue>, dropped: DroppedSecret[] = []): void {
    if (!this.registry.has(kind)) {
      throw new ApiError(400, 'validation_failed', 'Invalid request body', [{ path: 'kind', message: `no agent kind "${kind}" is installed` }]);
    }
    const result = this.registry.validateConfig(kind, config);
    if (!result.success) {
      const issues = toValidationIssues(result.error).map((issue) => ({
        path: `config.${issue.path}`.replace(/\.\(root\)$/, ''),
        message: resupplyMessage(issue.path, dropped) ?? issue.message,
      }));
      throw new ApiError(400, 'validation_failed', `Invalid config for a ${kind} agent`, issues);
    }
  }
}

/** Why a required secret is missing when it was dropped for a changed destination (the schema's message says less). */
function resupplyMessage(path: string, dropped: DroppedSecret[]): string | undefined {
  const secret = dropped.find((entry) => entry.path.join('.') === path);
  if (!secret) return undefined;
  return `must be supplied again: config.${secret.destination.join('.')} changed, and a stored secret only goes to the destination it was set for`;
}

/** The agent's policy with `patch` applied; 400 when the result is not a valid policy. */
function mergeConcurrency(current: AgentConcurrency, patch: AgentConcurrencyPatch): AgentConcurrency {
  const merged = AgentConcurrency.safeParse({ ...current, ...patch });
  if (merged.success) return merged.data;
  const issues = toValidationIssues(merged.error).map((issue) => ({ ...issue, path: `concurrency.${issue.path}` }));
  throw new ApiError(400, 'validation_failed', 'Invalid concurrency policy', issues);
}

// Keyset cursor: the last agent's (created_at, id), opaque to clients.
function encodeCursor(agent: Agent): string {
  return Buffer.from(`${agent.created_at}|${agent.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { created_at: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id) throw new ApiError(400, 'validation_failed', 'Invalid request query', [{ path: 'cursor', message: 'not a cursor from next_cursor' }]);
  return { created_at: createdAt, id };
}
