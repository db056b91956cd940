import { Inject, Injectable } from '@nestjs/common';
import { AgentConfigError, AgentRegistry } from '@skreaver/agent-runtime';
import { TERMINAL_RUN_STATUSES, runEventId } from '@skreaver/contracts';
import type { Agent, JsonValue, Run, RunEventOf, RunEventType, RunEventV1, RunJobV1 } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { AgentRepository, RunEventArchive, RunRepository } from '@skreaver/persistence';
import { RunCancellation, RunDispatcher } from '@skreaver/runs';
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

type Outcome = { kind: 'completed'; output: JsonValue } | { kind: 'cancelled'; reason: string } | { kind: 'error'; error: unknown };

/**
 * Executes one attempt of a run: state transitions, the event log, the stored result, the archive, and handing the
 * agent's slot to its next waiting run. Every transition is a compare-and-set in the database, so a run cancelled
 * by agent-api is never started, and a finished run is never executed again when its job is delivered twice.
 */
@Injectable()
export class RunExecutionService {
  constructor(
    private readonly runs: RunRepository,
    private readonly agents: AgentRepository,
    private readonly archive: RunEventArchive,
    private readonly eventLog: RunEventLog,
    private readonly registry: AgentRegistry,
    private readonly dispatcher: RunDispatcher,
    private readonly cancellation: RunCancellation,
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
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return this.settle(run, agent, log);

    const startedAt = nowIso();
    if (!(await this.runs.markRunning(run.id, attempt.number, startedAt))) {
      // Cancelled between our read and now: whoever cancelled it logged it.
      return this.settle((await this.runs.findById(run.tenant_id, run.id)) ?? run, agent, log);
    }
    await this.agents.updateActivity(run.tenant_id, agent.id, 'running', startedAt);
    await log.append('run.started', { attempt: attempt.number, worker: this.config.WORKER_ID });

    const started = performance.now();
    const outcome = await this.runAgent(run, agent, attempt, signal);
    const durationMs = performance.now() - started;
    // Bookkeeping below may throw: the job is then retried, and the retry finds the run finished and settles its log.
    if (outcome.kind === 'completed') {
      const finishedAt = nowIso();
      await this.runs.markCompleted(run.id, outcome.output, finishedAt);
      await log.append('run.completed', { output: outcome.output, duration_ms: Math.round(durationMs * 100) / 100 });
      await this.agents.updateActivity(run.tenant_id, agent.id, 'idle', finishedAt);
      this.record(agent, 'completed', durationMs);
      return this.finish(run, agent);
    }
    if (outcome.kind === 'cancelled') {
      const finishedAt = nowIso();
      await this.runs.markCancelled(run.id, { code: 'cancelled', message: outcome.reason }, finishedAt);
      await log.append('run.cancelled', { reason: outcome.reason, by: this.config.WORKER_ID });
      await this.agents.updateActivity(run.tenant_id, agent.id, 'idle', finishedAt);
      this.record(agent, 'cancelled', durationMs);
      return this.finish(run, agent);
    }
    await this.fail(run, agent, log, attempt, outcome.error, durationMs);
  }

  /** Runs the agent; a cancellation requested before or during the attempt wins over its result. */
  private async runAgent(run: Run, agent: Agent, attempt: Attempt, signal: AbortSignal): Promise<Outcome> {
    const requested = await this.cancellation.requested(run.id);
    if (requested !== null) return { kind: 'cancelled', reason: requested };
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
      if (signal.aborted) return { kind: 'cancelled', reason: reasonOf(signal) };
      return { kind: 'completed', output };
    } catch (error) {
      if (signal.aborted) return { kind: 'cancelled', reason: reasonOf(signal) };
      return { kind: 'error', error };
    } finally {
      this.metrics.active.dec();
    }
  }

  private async fail(run: Run, agent: Agent, log: RunLogWriter, attempt: Attempt, error: unknown, durationMs: number): Promise<void> {
    const permanent = error instanceof AgentConfigError;
    const final = permanent || attempt.number >= attempt.of;
    const failure = {
      code: permanent ? 'invalid_agent_config' : 'agent_error',
      message: error instanceof Error ? error.message : String(error),
    };
    this.logger.write(final ? 'error' : 'warn', 'Run attempt failed', { run_id: run.id, agent_id: agent.id, attempt: attempt.number, final, error: failure.message }, 'runs');
    if (final) {
      const finishedAt = nowIso();
      await this.runs.markFailed(run.id, failure, finishedAt);
      await log.append('run.failed', { ...failure, attempt: attempt.number, final });
      await this.agents.updateActivity(run.tenant_id, agent.id, 'error', finishedAt);
      this.record(agent, 'failed', durationMs);
      await this.finish(run, agent);
    } else {
      await log.append('run.failed', { ...failure, attempt: attempt.number, final });
      this.record(agent, 'retried', durationMs);
    }
    // Rethrown so the queue retries (or, for a permanent failure, records the job as failed without retrying).
    throw permanent ? new PermanentRunError(failure.message) : error;
  }

  /** A job for a run that is already finished: complete its log if a crash cut it short, and free its slot. */
  private async settle(run: Run, agent: Agent, log: RunLogWriter): Promise<void> {
    const logged = log.lastType === 'run.completed' || log.lastType === 'run.failed' || log.lastType === 'run.cancelled';
    if (!logged && run.status === 'completed') await log.append('run.completed', { output: run.output, duration_ms: 0 });
    if (!logged && run.status === 'failed' && run.error) {
      await log.append('run.failed', { ...run.error, attempt: Math.max(run.attempts, 1), final: true });
    }
    // A cancelled run's log is ended by whoever cancelled it (agent-api for queued runs).
    await this.finish(run, agent);
  }

  /** Archives the finished run's log, lets its Redis copy expire, and hands the agent's slot on. */
  private async finish(run: Run, agent: Agent): Promise<void> {
    const events = await this.eventLog.read(run.id, { limit: 10_000 });
    await this.archive.append(events);
    // Redis holds live logs only; without a TTL every run ever made would keep a stream there.
    await this.eventLog.expire(run.id, this.config.RUN_EVENTS_TTL_SECONDS);
    await this.dispatcher.release(agent, run.id);
  }

  private async openLog(run: Run): Promise<RunLogWriter> {
    const last = await this.eventLog.last(run.id);
    return new RunLogWriter(this.eventLog, run, last);
  }

  private record(agent: Agent, status: 'completed' | 'failed' | 'retried' | 'cancelled', durationMs: number): void {
    this.metrics.total.inc({ kind: agent.kind, status });
    this.metrics.duration.observe({ kind: agent.kind, status }, durationMs / 1000);
  }
}

function reasonOf(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'cancelled');
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
