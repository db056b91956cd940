import { Inject, Injectable, Optional } from '@nestjs/common';
import { AgentRunner, addUsage, failureOf, isInputRequired } from '@skreaver/agent-runtime';
import type { RequestedInput, RunUsage } from '@skreaver/agent-runtime';
import { TERMINAL_RUN_STATUSES, runEventId } from '@skreaver/contracts';
import type { Agent, JsonValue, Run, RunActivity, RunEventOf, RunEventType, RunEventV1, RunJobV1, RunStatus } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import type { RunEventAppendOptions } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { AgentRepository, RunEventArchive, RunRepository, RunStepRepository } from '@skreaver/persistence';
import { allSettledInOrder, nowIso } from '@skreaver/util';

import { DatabaseWait } from '../database-wait';
import type { RunJobAttempt } from '../in-process-run-queue';
import { RunCancellation } from '../run-cancellation';
import { RunDispatcher } from '../run-dispatcher';
import { ThreadTurns } from '../threads/thread-turns';
import { RUN_EXECUTION_CONFIG } from './run-execution.tokens';
import type { RunExecutionConfig } from './run-execution.config';
import { RunMetrics } from './run-metrics';
import { suspendForInput } from './run-suspension';
import { StoredRunJournal } from './stored-run-journal';

/** Thrown for a failure that another attempt cannot fix (bad config, a limit, a refusal): the queue must not retry it. */
export class PermanentRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentRunError';
  }
}

/**
 * The reason a run's signal aborts with when its process stops before the run finished (direct mode's shutdown): the
 * run is left open, its journal kept, for the process that resumes it; it is not cancelled.
 */
export class WorkerStopping extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerStopping';
  }
}

/** Told when runs start and finish here (the mesh: presence and replies); a hook's failure never fails the run. */
export interface RunLifecycleHooks {
  started(run: Run): Promise<void>;
  finished(run: Run): Promise<void>;
}

// A run's log is read whole into memory for the archive; more events than this are not archived.
const MAX_ARCHIVED_EVENTS = 10_000;

/** `run.started`'s worker for an attempt whose worker died before it could log its start. */
export const UNKNOWN_WORKER = 'unknown';

type Outcome =
  | { kind: 'completed'; output: JsonValue }
  | { kind: 'cancelled'; reason: string }
  | { kind: 'interrupted' }
  | { kind: 'error'; error: unknown }
  | { kind: 'waiting'; inputs: RequestedInput[] };

/**
 * Executes one attempt of a run: state transitions, the event log, the stored result, the archive, and handing the
 * agent's slot to its next waiting run. Every transition is a compare-and-set in the database, so a run cancelled
 * by agent-api is never started, and a finished run is never executed again when its job is delivered twice.
 * Database calls wait out an outage (`DatabaseWait`): an attempt is never spent or lost because the database was down.
 * The agent's steps are journaled (`run_steps`) as it takes them, and every attempt replays the ones already there.
 */
@Injectable()
export class RunExecutor {
  private readonly hooks: RunLifecycleHooks[] = [];
  private readonly database: DatabaseWait;

  constructor(
    private readonly runs: RunRepository,
    private readonly agents: AgentRepository,
    private readonly archive: RunEventArchive,
    private readonly eventLog: RunEventLog,
    private readonly runner: AgentRunner,
    private readonly dispatcher: RunDispatcher,
    private readonly cancellation: RunCancellation,
    private readonly metrics: RunMetrics,
    private readonly logger: JsonLogger,
    @Inject(RUN_EXECUTION_CONFIG) private readonly config: Pick<RunExecutionConfig, 'WORKER_ID' | 'RUN_EVENTS_TTL_SECONDS'>,
    private readonly steps: RunStepRepository,
    /** Thread runs: conversation, state, checkpoints and the thread's status (threads/thread-turns.ts). */
    @Optional() private readonly threads?: ThreadTurns,
  ) {
    this.database = new DatabaseWait(logger);
  }

  /** Adds hooks (registered by modules built on runs, so this service depends on none of them). */
  addHooks(hooks: RunLifecycleHooks): void {
    this.hooks.push(hooks);
  }

  async execute(job: RunJobV1, attempt: RunJobAttempt, signal: AbortSignal): Promise<void> {
    const run = await this.db(() => this.runs.findById(job.tenant_id, job.run_id), 'read run');
    const agent = await this.db(() => this.agents.findById(job.tenant_id, job.agent_id), 'read agent');
    if (!run || !agent) {
      // Deleted with its agent while queued: nothing left to run or to report to.
      this.logger.write('info', 'Run no longer exists; job dropped', { run_id: job.run_id, agent_id: job.agent_id }, 'runs');
      return;
    }
    const log = await this.openLog(run);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return this.settle(run, agent, log);
    // A stale job of a run that waits for input: its resume enqueues the run again.
    if (run.status === 'waiting_input') return;
    await this.logLostStart(run, log);

    // A worker killed mid-run never failed its attempt, so the queue counts it again; the run row knows it started.
    const recorded = Math.max(attempt.number, run.attempts + 1);
    const startedAt = nowIso();
    // The agent is set running in the same commit, unless it already says so (decided in SQL, see markRunning).
    if (!(await this.db(() => this.runs.markRunning(run.id, recorded, startedAt), 'mark run running'))) {
      // Cancelled between our read and now: whoever cancelled it logged it.
      return this.settle((await this.db(() => this.runs.findById(run.tenant_id, run.id), 'read run')) ?? run, agent, log);
    }
    // The cancellation marker is read after markRunning, as before, but sent with `run.started` instead of one round
    // trip later: commands of one event-loop turn leave in one pipeline (auto-pipelining), so the run's start costs one
    // Redis round trip, not two. Read before the append's reply, it sees every marker set before the run was running
    // (later requests reach this process by pub/sub, `RunJobsConsumer`), as when it was read after the reply.
    const cancelRequested = this.cancellation.requested(run.id);
    // Awaited in runAgent; if the append fails first, the job's error is the append's and this one is dropped.
    cancelRequested.catch(() => undefined);
    await log.append('run.started', { attempt: recorded, worker: this.config.WORKER_ID });
    const running: Run = { ...run, status: 'running', attempts: recorded, started_at: startedAt };
    const threads = run.thread_id ? this.threads : undefined;
    if (threads) await this.db(() => threads.started(running), 'mark thread busy');
    await this.notify('started', running);

    const started = performance.now();
    let tokens: RunUsage | null = null;
    let usageStored: Promise<unknown> = Promise.resolve();
    const onUsage = (used: RunUsage) => {
      tokens = addUsage(tokens, used);
      // Stored as each model call ends, one write after the other: the calls of an attempt whose process is killed
      // stay counted (its retry replays them from the journal and counts them no more).
      usageStored = usageStored.then(() => this.storeUsage(run, tokens)).catch(() => undefined);
    };
    let outcome = await this.runAgent(run, agent, recorded, signal, log, onUsage, cancelRequested);
    const durationMs = performance.now() - started;
    await usageStored;
    running.usage = addUsage(run.usage, tokens);
    if (outcome.kind === 'waiting') {
      // Waits for a person (run-suspension.ts): no attempt spent, the agent's slot handed on, the job done.
      const cancelled = await suspendForInput(
        {
          runs: this.runs,
          agents: this.agents,
          dispatcher: this.dispatcher,
          cancellation: this.cancellation,
          db: (operation, what) => this.db(operation, what),
          markThreadWaiting: threads ? () => this.db(() => threads.waiting(running), 'mark thread waiting') : undefined,
          logWaiting: (data) => log.append('run.waiting_input', data),
        },
        running,
        agent,
        outcome.inputs,
      );
      if (cancelled === null) return;
      outcome = { kind: 'cancelled', reason: cancelled };
    }
    // Bookkeeping below may throw: the job is then retried, and the retry finds the run finished and settles its log.
    if (outcome.kind === 'completed') {
      const finishedAt = nowIso();
      const completed = await log.build('run.completed', { output: outcome.output, duration_ms: Math.round(durationMs * 100) / 100 });
      // The result with the agent's activity (one transaction), and the whole log archived, run.completed included before
      // it is appended (then appended as archived: a crash in between is settled from the archive, see `settle`).
      // Issued together, so on SQLite they share one commit (HotSql's group commit); each is idempotent when retried.
      await this.db(
        () =>
          Promise.all([
            this.runs.markCompleted(run.id, outcome.output, finishedAt, { tenantId: run.tenant_id, id: agent.id }),
            this.archive.append([...log.events, completed]),
          ]),
        'store run result',
      );
      // Archived above, so its TTL goes with it (one round trip fewer than `finish`'s expire). The slot is released
      // without waiting for the append's reply: both leave in one pipeline (auto-pipelining), one round trip instead of
      // two. The run is completed and archived either way; if the append fails, the slot is still freed (as it would
      // be by the retry) and the retry appends run.completed from the archive (`settle`), releasing again harmlessly.
      const appended = log.appendBuilt(completed, { own: true, ttlSeconds: this.config.RUN_EVENTS_TTL_SECONDS });
      const released = this.dispatcher.release(agent, run.id, run.thread_id);
      await allSettledInOrder([appended, released]);
      this.record(agent, 'completed', durationMs);
      return this.finish({ ...running, status: 'completed', output: outcome.output, finished_at: finishedAt }, agent, log, { archived: true, released: true });
    }
    // Its process is stopping: left running for whoever resumes it (it replays the journal), as after a crash.
    if (outcome.kind === 'interrupted') return;
    if (outcome.kind === 'cancelled') {
      const finishedAt = nowIso();
      const error = { code: 'cancelled', message: outcome.reason };
      await this.db(() => this.runs.markCancelled(run.id, error, finishedAt), 'store run cancellation');
      await log.append('run.cancelled', { reason: outcome.reason, by: this.config.WORKER_ID });
      await this.db(() => this.agents.settleActivity(run.tenant_id, agent.id, finishedAt), 'update agent');
      this.record(agent, 'cancelled', durationMs);
      return this.finish({ ...running, status: 'cancelled', error, finished_at: finishedAt }, agent, log);
    }
    await this.fail(running, agent, log, { recorded, last: attempt.number >= attempt.of }, outcome.error, durationMs);
  }

  /**
   * Runs the agent, logging its steps, tool calls and partial outputs through the run's writer; a cancellation
   * requested before or during the attempt wins over its result.
   */
  private async runAgent(
    run: Run,
    agent: Agent,
    attempt: number,
    signal: AbortSignal,
    log: RunLogWriter,
    onUsage: (usage: RunUsage) => void,
    cancelRequested: Promise<string | null>,
  ): Promise<Outcome> {
    const requested = await cancelRequested;
    if (requested !== null) return { kind: 'cancelled', reason: requested };
    this.metrics.active.inc();
    try {
      const threads = run.thread_id ? this.threads : undefined;
      const thread = threads ? await this.db(() => threads.open(run), 'read thread') : undefined;
      const fresh = run.started_at === null;
      const output = await this.runner.run({
        agentId: agent.id,
        runId: run.id,
        tenantId: run.tenant_id,
        attempt,
        kind: agent.kind,
        config: agent.config,
        input: run.input,
        signal,
        onActivity: (activity) => log.appendActivity(activity),
        firstDeltaIndex: nextDeltaIndex(log.events),
        onUsage,
        // Answers people gave while it waited: a resumed run replays with them. A run no attempt had started when
        // it was read (no `started_at`: only `markRunning` sets it, nothing clears it) cannot have waited, nor
        // journaled a step: both reads are skipped for it, the common case of a run's one and only attempt.
        inputs: fresh ? {} : await this.db(() => this.runs.inputAnswers(run.id), 'read run inputs'),
        // Every attempt (a retry, a job delivered again after its worker died) replays the steps earlier ones recorded.
        journal: new StoredRunJournal(this.steps, run.id, this.database, signal, { fresh }),
        thread,
      });
      if (signal.aborted) return abortedOutcome(signal);
      if (threads && thread) await this.db(() => threads.completed(run, thread, run.input, output), 'record thread turn');
      return { kind: 'completed', output };
    } catch (error) {
      if (signal.aborted) return abortedOutcome(signal);
      if (isInputRequired(error)) return { kind: 'waiting', inputs: error.inputs };
      return { kind: 'error', error };
    } finally {
      this.metrics.active.dec();
    }
  }

  private async fail(
    run: Run,
    agent: Agent,
    log: RunLogWriter,
    attempt: { recorded: number; last: boolean },
    error: unknown,
    durationMs: number,
  ): Promise<void> {
    // Coded failures (config, limits, refusals, a webhook's 4xx…) keep their code; anything else is an agent error.
    const coded = failureOf(error);
    const permanent = coded?.permanent ?? false;
    const final = permanent || attempt.last;
    const failure = {
      code: coded?.code ?? 'agent_error',
      message: error instanceof Error ? error.message : String(error),
    };
    this.logger.write(final ? 'error' : 'warn', 'Run attempt failed', { run_id: run.id, agent_id: agent.id, attempt: attempt.recorded, final, code: failure.code, error: failure.message }, 'runs');
    if (final) {
      const finishedAt = nowIso();
      await this.db(() => this.runs.markFailed(run.id, failure, finishedAt), 'store run failure');
      await log.append('run.failed', { ...failure, attempt: attempt.recorded, final });
      await this.db(() => this.agents.updateActivity(run.tenant_id, agent.id, 'error', finishedAt), 'update agent');
      this.record(agent, 'failed', durationMs);
      await this.finish({ ...run, status: 'failed', error: failure, finished_at: finishedAt }, agent, log);
    } else {
      await log.append('run.failed', { ...failure, attempt: attempt.recorded, final });
      this.record(agent, 'retried', durationMs);
    }
    // Rethrown so the queue retries (or, for a permanent failure, records the job as failed without retrying).
    throw permanent ? new PermanentRunError(failure.message) : error;
  }

  /**
   * Ends a run whose job will not be handled while the run is still open (the queue gave up on it as its workers kept
   * dying; direct mode shutting down): fails it as `worker_lost` with `message`, logs `run.failed` and frees its slot.
   * Does nothing to a run that already finished.
   */
  async abandon(job: RunJobV1, message: string, options: { code?: string; from?: readonly RunStatus[] } = {}): Promise<void> {
    const run = await this.db(() => this.runs.findById(job.tenant_id, job.run_id), 'read run');
    const agent = await this.db(() => this.agents.findById(job.tenant_id, job.agent_id), 'read agent');
    // Ends open runs other than waiting ones (no job holds those), unless `from` names the statuses to end.
    const from = options.from ?? (['queued', 'running'] as const);
    if (!run || !agent || !from.includes(run.status)) return;
    const failure = { code: options.code ?? 'worker_lost', message };
    const log = await this.openLog(run);
    await this.logLostStart(run, log);
    const finishedAt = nowIso();
    if (!(await this.db(() => this.runs.markFailed(run.id, failure, finishedAt, from), 'store run failure'))) return;
    await log.append('run.failed', { ...failure, attempt: Math.max(run.attempts, 1), final: true });
    await this.finish({ ...run, status: 'failed', error: failure, finished_at: finishedAt }, agent, log);
  }

  /** A job for a run that is already finished: complete its log if a crash cut it short, and free its slot. */
  private async settle(run: Run, agent: Agent, log: RunLogWriter): Promise<void> {
    const logged = log.lastType === 'run.completed' || log.lastType === 'run.failed' || log.lastType === 'run.cancelled';
    if (!logged && run.status === 'completed') {
      // Completing archives run.completed before appending it: append that very event (id, ts, duration) if it is there.
      const [archived] = await this.db(() => this.archive.list(run.tenant_id, run.id, { afterSeq: log.lastSeq, limit: 1 }), 'read archived events');
      if (archived?.type === 'run.completed') await log.appendBuilt(archived);
      else await log.append('run.completed', { output: run.output, duration_ms: 0 });
    }
    if (!logged && run.status === 'failed' && run.error) {
      await log.append('run.failed', { ...run.error, attempt: Math.max(run.attempts, 1), final: true });
    }
    // A cancelled run's log is ended by whoever cancelled it (agent-api for queued runs).
    // The attempt that ended the run may have stopped before its agent was settled (on PostgreSQL that is a
    // transaction after the run's own); a failed run leaves its agent in `error`, as its attempt set it.
    if ((run.status === 'completed' || run.status === 'cancelled') && run.finished_at) {
      const finishedAt = run.finished_at;
      await this.db(() => this.agents.settleActivity(run.tenant_id, agent.id, finishedAt), 'update agent');
    }
    await this.finish(run, agent, log);
  }

  /**
   * Archives the finished run's log (as this writer holds it: read when the attempt began, plus what it appended),
   * lets its Redis copy expire, hands the agent's slot on, and tells the hooks how the run ended (`ended`).
   * `archived`: the log was archived whole in the commit that ended the run, and its last append set the TTL.
   * `released`: the caller released the slot already.
   */
  private async finish(ended: Run, agent: Agent, log: RunLogWriter, options: { archived?: boolean; released?: boolean } = {}): Promise<void> {
    // The slot first: the agent is free the moment its run has ended, not after the bookkeeping below.
    if (!options.released) await this.dispatcher.release(agent, ended.id, ended.thread_id);
    const threads = ended.thread_id ? this.threads : undefined;
    if (threads) await this.db(() => threads.ended(ended), 'update thread status');
    if (!options.archived) {
      await this.db(() => this.archive.append(log.events), 'archive run events');
      // Redis holds live logs only; without a TTL every run ever made would keep a stream there.
      await this.eventLog.expire(ended.id, this.config.RUN_EVENTS_TTL_SECONDS);
    }
    await this.notify('finished', ended);
  }

  /**
   * The run row says an attempt started (`running`, `attempts` = N) but the log has no `run.started` for attempt N:
   * its worker died between the two writes. Logs that start now, so every attempt that began shows in the log.
   */
  private async logLostStart(run: Run, log: RunLogWriter): Promise<void> {
    if (run.status !== 'running' || run.attempts < 1) return;
    const logged = log.events.some((event) => event.type === 'run.started' && event.data.attempt === run.attempts);
    if (!logged) await log.append('run.started', { attempt: run.attempts, worker: UNKNOWN_WORKER });
  }

  /** Stores the run's tokens: those of earlier attempts plus this attempt's so far (when it used any). */
  private async storeUsage(run: Run, attempt: RunUsage | null): Promise<RunUsage | null> {
    const total = addUsage(run.usage, attempt);
    if (attempt && total) await this.db(() => this.runs.setUsage(run.id, total), 'store run usage');
    return total;
  }

  private db<T>(operation: () => Promise<T>, what: string): Promise<T> {
    return this.database.run(operation, what);
  }

  private async notify(stage: keyof RunLifecycleHooks, run: Run): Promise<void> {
    for (const hooks of this.hooks) {
      await hooks[stage](run).catch((error: unknown) =>
        this.logger.write('warn', `Run ${stage} hook failed`, { run_id: run.id, error: String(error) }, 'runs'),
      );
    }
  }

  private async openLog(run: Run): Promise<RunLogWriter> {
    return new RunLogWriter(this.eventLog, run, await this.eventLog.read(run.id, { limit: MAX_ARCHIVED_EVENTS }));
  }

  private record(agent: Agent, status: 'completed' | 'failed' | 'retried' | 'cancelled', durationMs: number): void {
    this.metrics.total.inc({ kind: agent.kind, status });
    this.metrics.duration.observe({ kind: agent.kind, status }, durationMs / 1000);
  }
}

/** The index after the last `message.delta` earlier attempts logged, so a run's deltas are numbered consecutively. */
function nextDeltaIndex(events: readonly RunEventV1[]): number {
  let next = 0;
  for (const event of events) if (event.type === 'message.delta') next = Math.max(next, event.data.index + 1);
  return next;
}

function abortedOutcome(signal: AbortSignal): Outcome {
  return signal.reason instanceof WorkerStopping ? { kind: 'interrupted' } : { kind: 'cancelled', reason: reasonOf(signal) };
}

function reasonOf(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'cancelled');
}

type LogEntry = { [T in Exclude<RunEventType, 'run.queued'>]: { type: T; data: RunEventOf<T>['data'] } }[Exclude<RunEventType, 'run.queued'>];

/**
 * Appends a run's events with consecutive seqs, continuing after whatever earlier attempts logged. Appends are
 * queued one after another (an agent's activity and the run's outcome may be written concurrently), and a seq is
 * taken only once its event is stored, so a failed append leaves no gap.
 */
class RunLogWriter {
  private tail: Promise<unknown> = Promise.resolve();
  /** The whole log: what was there when the writer was opened, then each event it stored. */
  readonly events: RunEventV1[];

  constructor(
    private readonly eventLog: RunEventLog,
    private readonly run: Run,
    logged: RunEventV1[],
  ) {
    this.events = [...logged];
  }

  /** The type of the log's latest event. */
  get lastType(): RunEventType | undefined {
    return this.events.at(-1)?.type;
  }

  /** The seq of the log's latest event; 0 when it has none. */
  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  /**
   * Appends a status change the executor made. Not parsed again before it is written (`own`), except
   * `run.waiting_input`, whose inputs are the agent's.
   */
  append<T extends Exclude<RunEventType, 'run.queued'>>(type: T, data: RunEventOf<T>['data']): Promise<void> {
    return this.enqueue({ type, data } as LogEntry, { own: type !== 'run.waiting_input' });
  }

  /** Appends an agent's step, tool call, tool result or partial output: checked against the contract first. */
  appendActivity(activity: RunActivity): Promise<void> {
    return this.enqueue(activity, {});
  }

  /**
   * The log's next event, made (id, seq, ts) but not appended, once every append queued before it is done: for a
   * caller that stores it elsewhere first (the archive, in the transaction that completes the run), then appends it
   * with `appendBuilt`. Nothing else may be appended in between.
   */
  async build<T extends Exclude<RunEventType, 'run.queued'>>(type: T, data: RunEventOf<T>['data']): Promise<RunEventV1> {
    await this.tail;
    return this.next({ type, data } as LogEntry);
  }

  /** Appends an event as it is (made by `build`, or read back from the archive): its id, seq and ts are kept. */
  appendBuilt(event: RunEventV1, options: RunEventAppendOptions = {}): Promise<void> {
    return this.queue(async () => {
      if (event.seq !== this.lastSeq + 1) throw new Error(`event ${event.id} does not follow seq ${this.lastSeq} of its log`);
      await this.store(event, options);
    });
  }

  private enqueue(entry: LogEntry, options: RunEventAppendOptions): Promise<void> {
    return this.queue(() => this.store(this.next(entry), options));
  }

  private queue(write: () => Promise<void>): Promise<void> {
    const written = this.tail.then(write);
    this.tail = written.catch(() => undefined);
    return written;
  }

  private next(entry: LogEntry): RunEventV1 {
    const seq = this.lastSeq + 1;
    return {
      id: runEventId(this.run.id, seq),
      run_id: this.run.id,
      agent_id: this.run.agent_id,
      tenant_id: this.run.tenant_id,
      seq,
      ts: nowIso(),
      ...entry,
    } as RunEventV1;
  }

  private async store(event: RunEventV1, options: RunEventAppendOptions): Promise<void> {
    await this.eventLog.append(event, options);
    this.events.push(event);
  }
}
