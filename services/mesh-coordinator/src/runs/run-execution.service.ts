import { Inject, Injectable } from '@nestjs/common';
import { AgentConfigError, AgentRegistry } from '@skreaver/agent-runtime';
import { TERMINAL_RUN_STATUSES, runEventId } from '@skreaver/contracts';
import type { Agent, Run, RunEventOf, RunEventType, RunEventV1, RunJobV1 } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { AgentRepository, RunEventArchive, RunRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';
import { RunMetrics } from './run-metrics';

/** Thrown for a failure that another attempt cannot fix (bad agent config): the queue must not retry it. */
export class PermanentRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentRunError';
  }
}

export interface Attempt {
  /** 1-based number of this attempt. */
  number: number;
  /** Attempts the run gets in all. */
  of: number;
}

/** Executes one attempt of a run: state transitions, the event log, the stored result and the archive. */
@Injectable()
export class RunExecutionService {
  constructor(
    private readonly runs: RunRepository,
    private readonly agents: AgentRepository,
    private readonly archive: RunEventArchive,
    private readonly eventLog: RunEventLog,
    private readonly registry: AgentRegistry,
    private readonly metrics: RunMetrics,
    private readonly logger: JsonLogger,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {}

  async execute(job: RunJobV1, attempt: Attempt, signal: AbortSignal): Promise<void> {
    const run = await this.runs.findById(job.tenant_id, job.run_id);
    const agent = await this.agents.findById(job.tenant_id, job.agent_id);
    if (!run || !agent) {
      // Deleted with its agent while queued: nothing left to run or to report to.
      this.logger.write('info', 'Run no longer exists; job dropped', { run_id: job.run_id, agent_id: job.agent_id }, 'runs');
      return;
    }
    const log = await this.openLog(run);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) {
      // A retry after a crash between storing the result and logging it: finish the log, never redo the run.
      await this.completeLog(run, log);
      return;
    }

    const startedAt = nowIso();
    const started = performance.now();
    await this.runs.markRunning(run.id, attempt.number, startedAt);
    await this.agents.updateActivity(run.tenant_id, agent.id, 'running', startedAt);
    await log.append('run.started', { attempt: attempt.number, worker: this.config.WORKER_ID });
    this.metrics.active.inc();
    try {
      const output = await this.registry.run({
        agentId: agent.id,
        runId: run.id,
        tenantId: run.tenant_id,
        attempt: attempt.number,
        kind: agent.kind,
        config: agent.config,
        input: run.input,
        signal,
      });
      const finishedAt = nowIso();
      const durationMs = performance.now() - started;
      await this.runs.markCompleted(run.id, output, finishedAt);
      await log.append('run.completed', { output, duration_ms: Math.round(durationMs * 100) / 100 });
      await this.agents.updateActivity(run.tenant_id, agent.id, 'idle', finishedAt);
      await this.archiveLog(run);
      this.record(agent, 'completed', durationMs);
    } catch (error) {
      await this.fail(run, agent, log, attempt, error, performance.now() - started);
      throw error instanceof AgentConfigError ? new PermanentRunError(error.message) : error;
    } finally {
      this.metrics.active.dec();
    }
  }

  private async fail(run: Run, agent: Agent, log: RunLogWriter, attempt: Attempt, error: unknown, durationMs: number) {
    const permanent = error instanceof AgentConfigError;
    const final = permanent || attempt.number >= attempt.of;
    const failure = {
      code: permanent ? 'invalid_agent_config' : 'agent_error',
      message: error instanceof Error ? error.message : String(error),
    };
    this.logger.write(final ? 'error' : 'warn', 'Run attempt failed', { run_id: run.id, agent_id: agent.id, attempt: attempt.number, final, error: failure.message }, 'runs');
    await log.append('run.failed', { ...failure, attempt: attempt.number, final });
    if (final) {
      const finishedAt = nowIso();
      await this.runs.markFailed(run.id, failure, finishedAt);
      await this.agents.updateActivity(run.tenant_id, agent.id, 'error', finishedAt);
      await this.archiveLog(run);
    }
    this.record(agent, final ? 'failed' : 'retried', durationMs);
  }

  /** Appends the terminal event a crashed attempt stored but did not log. */
  private async completeLog(run: Run, log: RunLogWriter): Promise<void> {
    const logged = log.lastType === 'run.completed' || log.lastType === 'run.failed';
    if (!logged && run.status === 'completed') await log.append('run.completed', { output: run.output, duration_ms: 0 });
    if (!logged && run.status === 'failed' && run.error) {
      await log.append('run.failed', { ...run.error, attempt: Math.max(run.attempts, 1), final: true });
    }
    await this.archiveLog(run);
  }

  private async openLog(run: Run): Promise<RunLogWriter> {
    const last = await this.eventLog.last(run.id);
    return new RunLogWriter(this.eventLog, run, last);
  }

  private async archiveLog(run: Run): Promise<void> {
    const events = await this.eventLog.read(run.id, { limit: 10_000 });
    await this.archive.append(events);
    // Redis holds live logs only; without a TTL every run ever made would keep a stream there.
    await this.eventLog.expire(run.id, this.config.RUN_EVENTS_TTL_SECONDS);
  }

  private record(agent: Agent, status: 'completed' | 'failed' | 'retried', durationMs: number): void {
    this.metrics.total.inc({ kind: agent.kind, status });
    this.metrics.duration.observe({ kind: agent.kind, status }, durationMs / 1000);
  }
}

/** Appends a run's events with consecutive seqs, continuing after whatever earlier attempts logged. */
class RunLogWriter {
  private seq: number;
  lastType: RunEventType | undefined;

  constructor(
    private readonly eventLog: RunEventLog,
    private readonly run: Run,
    last: RunEventV1 | null,
  ) {
    this.seq = last?.seq ?? 0;
    this.lastType = last?.type;
  }

  async append<T extends Exclude<RunEventType, 'run.queued'>>(type: T, data: RunEventOf<T>['data']): Promise<void> {
    this.seq += 1;
    const event = {
      id: runEventId(this.run.id, this.seq),
      run_id: this.run.id,
      agent_id: this.run.agent_id,
      tenant_id: this.run.tenant_id,
      seq: this.seq,
      ts: nowIso(),
      type,
      data,
    } as RunEventV1;
    await this.eventLog.append(event);
    this.lastType = type;
  }
}
