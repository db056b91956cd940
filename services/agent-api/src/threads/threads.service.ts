import { Injectable } from '@nestjs/common';
import type {
  Agent,
  CreateThreadRequest,
  CreateThreadRunRequest,
  ListThreadsQuery,
  Principal,
  Thread,
  ThreadHistoryPage,
  ThreadHistoryQuery,
  ThreadList,
  UpdateThreadRequest,
} from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import type { RequestContext } from '@skreaver/observability';
import { AgentRepository, ThreadRepository } from '@skreaver/persistence';
import type { StoredThread } from '@skreaver/persistence';
import { RunDispatcher, ThreadRunGates } from '@skreaver/runs';
import { newId, nowIso } from '@skreaver/util';

import { AuditService } from '../audit/audit.service';
import { databaseCall } from '../database-call';
import { RunsService } from '../runs/runs.service';
import type { Submitted } from '../runs/runs.service';

/**
 * Threads: conversations with an agent. CRUD, history (checkpoints), and thread runs, which go through the same run
 * creation as `POST /agents/{id}/runs` (`RunsService.submit`) with the thread's turn gate in front of the agent's
 * admission (double-texting). A run with `checkpoint_id` forks: a new thread from that checkpoint runs the input.
 */
@Injectable()
export class ThreadsService {
  constructor(
    private readonly threads: ThreadRepository,
    private readonly agents: AgentRepository,
    private readonly runs: RunsService,
    private readonly gates: ThreadRunGates,
    private readonly dispatcher: RunDispatcher,
    private readonly audit: AuditService,
  ) {}

  async create(tenantId: string, request: CreateThreadRequest): Promise<Thread> {
    const agent = await this.agentOf(tenantId, request.agent_id);
    const now = nowIso();
    const stored = await databaseCall(() =>
      this.threads.insert({
        thread: {
          id: newId(),
          tenant_id: tenantId,
          agent_id: agent.id,
          status: 'idle',
          metadata: request.metadata,
          double_texting: request.double_texting ?? null,
          state: null,
          message_count: 0,
          turns: 0,
          forked_from: null,
          created_at: now,
          updated_at: now,
        },
        messages: [],
      }),
    );
    return stored.thread;
  }

  async get(tenantId: string, id: string): Promise<Thread> {
    return (await this.load(tenantId, id)).thread;
  }

  async list(tenantId: string, query: ListThreadsQuery): Promise<ThreadList> {
    const items = await databaseCall(() =>
      this.threads.list(tenantId, {
        limit: query.limit,
        agentId: query.agent_id,
        status: query.status,
        before: query.cursor ? decodeCursor(query.cursor) : undefined,
      }),
    );
    const last = items.at(-1);
    return { items, next_cursor: items.length === query.limit && last ? encodeCursor(last) : null };
  }

  async update(tenantId: string, id: string, changes: UpdateThreadRequest): Promise<Thread> {
    const updated = await databaseCall(() =>
      this.threads.update(tenantId, id, { metadata: changes.metadata, double_texting: changes.double_texting, updated_at: nowIso() }),
    );
    if (!updated) throw ApiError.notFound(`thread ${id}`);
    return updated;
  }

  /** Cancels the thread's open runs, then deletes it with its state and checkpoints; its runs stay readable. Audited under `requestId`. */
  async delete(principal: Principal, id: string, requestId: string): Promise<void> {
    const { thread } = await this.load(principal.tenant_id, id);
    for (const runId of await databaseCall(() => this.threads.listOpenRunIds(thread.id))) {
      await this.runs.cancel(principal.tenant_id, runId, 'thread deleted', principal.subject, 0).catch((error: unknown) => {
        // Finished in the meantime: nothing left to cancel.
        if (!(error instanceof ApiError && error.status === 409)) throw error;
      });
    }
    await databaseCall(() => this.threads.delete(principal.tenant_id, thread.id));
    await this.dispatcher.threads?.clear(thread.id).catch(() => undefined);
    await this.audit.record(principal, requestId, 'thread.deleted', thread.id, { agent_id: thread.agent_id });
  }

  /** The thread's checkpoints, newest first, with a step below `before`. */
  async history(tenantId: string, id: string, query: ThreadHistoryQuery): Promise<ThreadHistoryPage> {
    await this.load(tenantId, id);
    const items = await databaseCall(() => this.threads.history(tenantId, id, { before: query.before, limit: query.limit }));
    const last = items.at(-1);
    return { items, next_before: items.length === query.limit && last && last.step > 1 ? last.step : null };
  }

  /**
   * Runs the thread's agent with `request.input` as the thread's next turn, or, with `checkpoint_id`, as the first
   * turn of a new thread forked from that checkpoint (the original is left as it is). The run is the answer; its
   * `thread_id` names the thread it runs on.
   */
  async run(tenantId: string, id: string, request: CreateThreadRunRequest, options: { idempotencyKey?: string; log?: RequestContext }): Promise<Submitted> {
    const source = await this.load(tenantId, id);
    const agent = await this.agentOf(tenantId, source.thread.agent_id);
    const requestIdentity = { thread_id: id, checkpoint_id: request.checkpoint_id ?? null, input: request.input };
    let target = source.thread;
    if (request.checkpoint_id) {
      // A retried fork (same Idempotency-Key) finds its first run and makes no second thread.
      const earlier = options.idempotencyKey ? await this.runs.submitted(agent, options.idempotencyKey, requestIdentity) : null;
      if (earlier) return { run: earlier, replayed: true };
      target = await this.fork(source, request.checkpoint_id);
    }
    const previous = target.status;
    // A thread waiting for a person stays so: its waiting run holds the turn, the new input meets the policy.
    if (previous === 'idle' || previous === 'error') await databaseCall(() => this.threads.setStatus(target.id, 'busy', nowIso()));
    try {
      return await this.runs.submit(tenantId, agent.id, request.input, {
        idempotencyKey: options.idempotencyKey,
        thread: { id: target.id, gate: this.gates.for(agent, target), requestIdentity },
        log: options.log,
      });
    } catch (error) {
      // Refused: the thread is as busy as its open runs make it.
      const open = await databaseCall(() => this.threads.countOpenRuns(target.id)).catch(() => 1);
      if (open === 0) await databaseCall(() => this.threads.setStatus(target.id, previous === 'busy' ? 'idle' : previous, nowIso())).catch(() => undefined);
      throw error;
    }
  }

  /** A new thread with the checkpoint's conversation and state, linked to it by `forked_from`. */
  private async fork(source: StoredThread, checkpointId: string): Promise<Thread> {
    const checkpoint = await databaseCall(() => this.threads.findCheckpoint(source.thread.tenant_id, source.thread.id, checkpointId));
    if (!checkpoint) throw ApiError.notFound(`checkpoint ${checkpointId} of thread ${source.thread.id}`);
    const now = nowIso();
    const stored = await databaseCall(() =>
      this.threads.insert({
        thread: {
          ...source.thread,
          id: newId(),
          status: 'idle',
          state: checkpoint.state,
          message_count: checkpoint.messages.length,
          turns: checkpoint.step,
          forked_from: { thread_id: source.thread.id, checkpoint_id: checkpoint.id },
          created_at: now,
          updated_at: now,
        },
        messages: checkpoint.messages,
      }),
    );
    return stored.thread;
  }

  /** The tenant's thread, or 404 (another tenant's thread must stay invisible). */
  private async load(tenantId: string, id: string): Promise<StoredThread> {
    const stored = await databaseCall(() => this.threads.findById(tenantId, id));
    if (!stored) throw ApiError.notFound(`thread ${id}`);
    return stored;
  }

  private async agentOf(tenantId: string, agentId: string): Promise<Agent> {
    const agent = await databaseCall(() => this.agents.findById(tenantId, agentId));
    if (!agent) throw ApiError.notFound(`agent ${agentId}`);
    return agent;
  }
}

// Keyset cursor: the last thread's (created_at, id), opaque to clients.
function encodeCursor(thread: Thread): string {
  return Buffer.from(`${thread.created_at}|${thread.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { created_at: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id) throw new ApiError(400, 'validation_failed', 'Invalid request query', [{ path: 'cursor', message: 'not a cursor from next_cursor' }]);
  return { created_at: createdAt, id };
}
