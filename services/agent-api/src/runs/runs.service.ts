import { Inject, Injectable } from '@nestjs/common';
import { TERMINAL_RUN_STATUSES, runEventId } from '@skreaver/contracts';
import type { JsonValue, Run, RunEventV1, RunEventsPage } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { RunEventLog } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { RunEventArchive, RunRepository } from '@skreaver/persistence';
import { newId, nowIso } from '@skreaver/util';

import { AgentsService } from '../agents/agents.service';
import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';
import { databaseCall } from '../database-call';
import { RunQueue } from './run-queue';

/** Accepting runs (store, log `run.queued`, enqueue) and reading them back with their event logs. */
@Injectable()
export class RunsService {
  constructor(
    private readonly agents: AgentsService,
    private readonly runs: RunRepository,
    private readonly archive: RunEventArchive,
    private readonly eventLog: RunEventLog,
    private readonly queue: RunQueue,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * Stores the run, appends `run.queued` as event 1 (before the job exists, so a worker's events always follow it)
   * and enqueues it. If Redis refuses, the stored run is failed rather than left queued with no job behind it.
   */
  async create(tenantId: string, agentId: string, input: JsonValue): Promise<Run> {
    const agent = await this.agents.get(tenantId, agentId);
    const now = nowIso();
    const run: Run = {
      id: newId(),
      tenant_id: tenantId,
      agent_id: agent.id,
      status: 'queued',
      source: 'api',
      input,
      output: null,
      error: null,
      attempts: 0,
      created_at: now,
      started_at: null,
      finished_at: null,
    };
    await databaseCall(() => this.runs.insert(run));
    const queued: RunEventV1 = {
      id: runEventId(run.id, 1),
      run_id: run.id,
      agent_id: run.agent_id,
      tenant_id: tenantId,
      seq: 1,
      ts: now,
      type: 'run.queued',
      data: { input },
    };
    try {
      await this.eventLog.append(queued);
      await this.queue.add(
        { run_id: run.id, agent_id: run.agent_id, tenant_id: tenantId },
        { jobId: run.id, attempts: this.config.RUN_MAX_ATTEMPTS },
      );
    } catch (error) {
      this.logger.write('error', 'Could not enqueue run', { run_id: run.id, error: String(error) }, 'runs');
      const failure = { code: 'enqueue_failed', message: 'The run queue was unavailable' };
      await this.runs.markFailed(run.id, failure, nowIso()).catch(() => undefined);
      throw ApiError.unavailable('queue_unavailable', 'The run queue is unavailable; retry later');
    }
    return run;
  }

  async get(tenantId: string, runId: string): Promise<Run> {
    const run = await databaseCall(() => this.runs.findById(tenantId, runId));
    if (!run) throw ApiError.notFound(`run ${runId}`);
    return run;
  }

  async listByAgent(tenantId: string, agentId: string, limit: number): Promise<Run[]> {
    await this.agents.get(tenantId, agentId);
    return databaseCall(() => this.runs.listByAgent(tenantId, agentId, { limit }));
  }

  /**
   * A page of the run's events after `after`. A finished run is read from the database archive (its Redis log
   * expires); a live one, or a finished one not archived yet, from its Redis stream.
   */
  async events(tenantId: string, runId: string, after: string | undefined, limit: number): Promise<RunEventsPage> {
    const run = await this.get(tenantId, runId);
    const afterSeq = after ? this.seqOf(runId, after) : 0;
    let items: RunEventV1[] = [];
    if (TERMINAL_RUN_STATUSES.includes(run.status)) {
      items = await databaseCall(() => this.archive.list(tenantId, run.id, { afterSeq, limit }));
    }
    if (items.length === 0) {
      try {
        items = await this.eventLog.read(run.id, { afterSeq, limit });
      } catch (error) {
        this.logger.write('warn', 'Event log unavailable', { run_id: run.id, error: String(error) }, 'runs');
        throw ApiError.unavailable('redis_unavailable', 'The event log is unavailable; retry later');
      }
    }
    const last = items[items.length - 1];
    return { items, next_after: items.length === limit && last ? last.id : null };
  }

  private seqOf(runId: string, eventId: string): number {
    const [id, seq] = eventId.split(':');
    if (id !== runId) throw new ApiError(400, 'validation_failed', 'after must be an event id of this run');
    return Number(seq);
  }
}
