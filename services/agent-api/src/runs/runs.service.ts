import { createHash } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { TERMINAL_RUN_STATUSES, isTerminalEvent } from '@skreaver/contracts';
import type { Agent, AgentRunsQuery, JsonValue, RedrivenRun, Run, RunEventV1, RunEventsPage, RunList, RunSearchQuery } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { RunEventLog, isRedisUnavailable } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import type { RequestContext } from '@skreaver/observability';
import { AgentRepository, RunEventArchive, RunRepository, isDatabaseUnavailable } from '@skreaver/persistence';
import { IdempotencyKeyReusedError, QueuedRunCanceller, RunAdmissionError, RunCancellation, RunCreator, RunRejectedError, ThreadBusyError } from '@skreaver/runs';
import type { RunGate } from '@skreaver/runs';

import { databaseCall } from '../database-call';
import { decodeListCursor, nextListCursor } from '../list-cursor';
import { RunEventsHub } from './run-events.hub';

export interface SubmitOptions {
  idempotencyKey?: string;
  /** The failed run this one re-submits (`POST /runs/{id}/redrive`); logged in `run.queued`. */
  redrivenFrom?: string;
  /** A thread run: the thread, and the gate giving it the thread's turn (threads/threads.service.ts). */
  thread?: { id: string; gate: RunGate; requestIdentity: JsonValue };
  /** The log context of the request submitting, for the line a failed enqueue writes. */
  log?: RequestContext;
}

export interface Submitted {
  run: Run;
  /** True when an earlier request with the same idempotency key and body created this run. */
  replayed: boolean;
}

const isFinished = (run: Run) => TERMINAL_RUN_STATUSES.includes(run.status);

/** How long a finished run's log may lag behind its stored status (normally milliseconds: the next append). */
const FINAL_EVENT_GRACE_MS = 500;

/** Accepting runs under their agent's concurrency policy, waiting for them, cancelling them, and reading their logs. */
@Injectable()
export class RunsService {
  constructor(
    private readonly agents: AgentRepository,
    private readonly runs: RunRepository,
    private readonly archive: RunEventArchive,
    private readonly eventLog: RunEventLog,
    private readonly creator: RunCreator,
    private readonly canceller: QueuedRunCanceller,
    private readonly cancellation: RunCancellation,
    private readonly hub: RunEventsHub,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * Creates a run through the shared `RunCreator` (stored, `run.queued` logged as event 1, admitted under the agent's
   * concurrency policy, enqueued when admitted) and translates its refusals: 409 `agent_busy`, 422
   * `idempotency_key_reused`, 503 `database_unavailable` / `queue_unavailable` (nothing stays behind: a retry with
   * the same Idempotency-Key creates the run anew).
   */
  async submit(tenantId: string, agentId: string, input: JsonValue, options: SubmitOptions = {}): Promise<Submitted> {
    const agent = await this.agentOf(tenantId, agentId);
    try {
      const { run, created } = await databaseCall(() =>
        this.creator.create(agent, input, {
          source: 'api',
          idempotencyKey: options.idempotencyKey,
          requestHash: options.idempotencyKey ? hashRequest(agent.id, options.thread ? options.thread.requestIdentity : input) : undefined,
          redrivenFrom: options.redrivenFrom,
          threadId: options.thread?.id,
          gate: options.thread?.gate,
        }),
      );
      return { run, replayed: !created };
    } catch (error) {
      if (error instanceof RunRejectedError) throw new ApiError(409, 'agent_busy', error.message);
      if (error instanceof ThreadBusyError) throw new ApiError(409, 'thread_busy', error.message);
      if (error instanceof IdempotencyKeyReusedError) throw new ApiError(422, 'idempotency_key_reused', error.message);
      if (!(error instanceof RunAdmissionError)) throw error;
      // An outage gets the one warning the exception filter writes per refused request, naming this error (run id and
      // cause); anything else failing here is a bug, worth an error line of its own although the client may retry.
      if (isDatabaseUnavailable(error.cause)) throw ApiError.unavailable('database_unavailable', 'The database is unavailable; retry later', error);
      if (!isRedisUnavailable(error.cause)) {
        this.logger.write('error', 'Could not enqueue run', { run_id: error.runId, error: String(error.cause) }, 'runs', options.log);
      }
      throw ApiError.unavailable('queue_unavailable', 'The run queue is unavailable; retry later', error);
    }
  }

  /**
   * The run an earlier request with this Idempotency-Key made of `agent`, when its request was `requestIdentity`
   * (null when there is none); 422 `idempotency_key_reused` when it was another request.
   */
  async submitted(agent: Agent, idempotencyKey: string, requestIdentity: JsonValue): Promise<Run | null> {
    const earlier = await databaseCall(() => this.runs.findByIdempotencyKey(agent.tenant_id, agent.id, idempotencyKey));
    if (!earlier) return null;
    if (earlier.requestHash !== hashRequest(agent.id, requestIdentity)) {
      throw new ApiError(422, 'idempotency_key_reused', new IdempotencyKeyReusedError(idempotencyKey).message);
    }
    return earlier.run;
  }

  /** The run once it has finished or waits for input, or as it is when `timeoutMs` runs out. */
  async waitForEnd(tenantId: string, runId: string, timeoutMs: number): Promise<Run> {
    let wake: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (wake = resolve));
    const unsubscribe = this.hub.subscribe(runId, (event) => {
      if (isTerminalEvent(event) || event.type === 'run.waiting_input') wake();
    });
    const timer = setTimeout(wake, timeoutMs);
    try {
      // Subscribed before this read, so a run ending in between is either seen here or heard by the listener.
      const run = await this.get(tenantId, runId);
      if (isFinished(run) || run.status === 'waiting_input') return run;
      await ended;
      return await this.get(tenantId, runId);
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }

  /**
   * Cancels a run: a queued one at once (it never starts), a running one by asking its coordinator, which aborts
   * it within a second; answers with the run as it stands after up to `waitMs`.
   */
  async cancel(tenantId: string, runId: string, reason: string, by: string, waitMs = 2_000): Promise<Run> {
    const run = await this.get(tenantId, runId);
    if (isFinished(run)) throw new ApiError(409, 'conflict', `run ${run.id} already ${run.status}`);
    const agent = await this.agentOf(tenantId, run.agent_id);
    if (await databaseCall(() => this.canceller.cancel(agent, run, reason, by))) return this.get(tenantId, runId);
    await this.cancellation.request(run.id, reason);
    return this.waitForEnd(tenantId, run.id, waitMs);
  }

  /** Cancels every queued or running run of an agent (before it is deleted). */
  async cancelAll(tenantId: string, agentId: string, reason: string, by: string): Promise<void> {
    const agent = await this.agentOf(tenantId, agentId);
    for (const run of await databaseCall(() => this.runs.listOpenByAgent(tenantId, agentId))) {
      if (!(await databaseCall(() => this.canceller.cancel(agent, run, reason, by)))) await this.cancellation.request(run.id, reason);
    }
  }

  async get(tenantId: string, runId: string): Promise<Run> {
    const run = await databaseCall(() => this.runs.findById(tenantId, runId));
    if (!run) throw ApiError.notFound(`run ${runId}`);
    return run;
  }

  /** A page of the agent's runs, newest first, after `query.cursor`. */
  async listByAgent(tenantId: string, agentId: string, query: AgentRunsQuery): Promise<RunList> {
    await this.agentOf(tenantId, agentId);
    const before = query.cursor === undefined ? undefined : decodeListCursor(query.cursor);
    const items = await databaseCall(() => this.runs.listByAgent(tenantId, agentId, { limit: query.limit, before }));
    return { items, next_cursor: nextListCursor(items, query.limit) };
  }

  /** A page of the tenant's runs, newest first; `status: failed` lists the dead letters (runs that failed their last attempt). */
  async list(tenantId: string, query: RunSearchQuery): Promise<RunList> {
    const before = query.cursor === undefined ? undefined : decodeListCursor(query.cursor);
    const items = await databaseCall(() => this.runs.list(tenantId, { status: query.status, agentId: query.agent_id, limit: query.limit, before }));
    return { items, next_cursor: nextListCursor(items, query.limit) };
  }

  /**
   * Redrives a dead letter: submits the failed run's input again as a new run of the same agent (under its
   * concurrency policy), linked to it by `redriven_from`. The failed run stays as it is, so its record, error and
   * events remain for inspection; redriving it twice makes two new runs. 409 when the run is not `failed`.
   */
  async redrive(tenantId: string, runId: string, log?: RequestContext): Promise<RedrivenRun> {
    const failed = await this.get(tenantId, runId);
    if (failed.status !== 'failed') throw new ApiError(409, 'conflict', `run ${failed.id} is ${failed.status}; only failed runs can be redriven`);
    const { run } = await this.submit(tenantId, failed.agent_id, failed.input, { redrivenFrom: failed.id, log });
    return { ...run, redriven_from: failed.id };
  }

  /**
   * A page of the run's events after `after`. A finished run is read from the database archive (its Redis log
   * expires); a live one, or a finished one not archived yet, from its Redis stream.
   */
  async events(tenantId: string, runId: string, after: string | undefined, limit: number): Promise<RunEventsPage> {
    const run = await this.get(tenantId, runId);
    const afterSeq = after ? this.seqOf(runId, after) : 0;
    let items = await this.readLog(run, afterSeq, limit);
    // An executor stores a run's outcome a moment before it appends the final event: a client that saw the status
    // and reads the log at once must still get that event, so a finished run's unfinished log waits for it briefly.
    if (isFinished(run) && items.length < limit && !items.some(isTerminalEvent) && (await this.terminalEventLogged(run.id))) {
      items = await this.readLog(run, afterSeq, limit);
    }
    const last = items[items.length - 1];
    return { items, next_after: items.length === limit && last ? last.id : null };
  }

  /**
   * Sends the run's events after `afterSeq` to `send`, then its live events, until the run ends or `signal` aborts:
   * the log is read after subscribing, and live events already sent from the log are skipped, so there is neither a
   * gap nor a duplicate. With `untilWaiting` (the `?stream=true` answer of a route that creates a run) it also stops
   * once the run waits for input: at a live `run.waiting_input`, or when the log read so far ends with one (the run
   * waits now); a `run.waiting_input` followed by `run.resumed` in the log is passed over.
   */
  async follow(
    tenantId: string,
    runId: string,
    afterSeq: number,
    send: (event: RunEventV1) => void,
    signal: AbortSignal,
    options: { untilWaiting?: boolean } = {},
  ): Promise<void> {
    const run = await this.get(tenantId, runId);
    const pauses = (event: RunEventV1 | undefined) => options.untilWaiting === true && event?.type === 'run.waiting_input';
    let lastSent = afterSeq;
    let lastEvent: RunEventV1 | undefined;
    let live = false;
    let ended = false;
    let wake: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (wake = resolve));
    const buffered: RunEventV1[] = [];
    let replaying = true;
    const deliver = (event: RunEventV1) => {
      if (ended || event.seq <= lastSent) return;
      lastSent = event.seq;
      lastEvent = event;
      send(event);
      if (isTerminalEvent(event) || (live && pauses(event))) {
        ended = true;
        wake();
      }
    };
    const unsubscribe = this.hub.subscribe(run.id, (event) => (replaying ? buffered.push(event) : deliver(event)));
    signal.addEventListener('abort', () => wake(), { once: true });
    try {
      for (let page = await this.readLog(run, lastSent, 500); page.length > 0; page = await this.readLog(run, lastSent, 500)) {
        page.forEach(deliver);
        if (ended) return;
      }
      replaying = false;
      buffered.sort((a, b) => a.seq - b.seq).forEach(deliver);
      // No await since the flag flipped: every later event comes live, through `deliver`.
      live = true;
      if (ended || signal.aborted || pauses(lastEvent)) return;
      const now = await this.get(tenantId, run.id);
      if (isFinished(now)) {
        // Finished while we replayed: one more read picks up the tail (a run that never logged an end stops here too).
        (await this.readLog(now, lastSent, 500)).forEach(deliver);
        return;
      }
      await done;
    } finally {
      unsubscribe();
    }
  }

  /**
   * Whether the run's Redis log ends with its terminal event, waiting up to `FINAL_EVENT_GRACE_MS` for it to be
   * appended. False for a log that never gets one (its executor died in between), has expired or cannot be read.
   */
  private async terminalEventLogged(runId: string): Promise<boolean> {
    let wake: (seen: boolean) => void = () => undefined;
    const seen = new Promise<boolean>((resolve) => (wake = resolve));
    const unsubscribe = this.hub.subscribe(runId, (event) => isTerminalEvent(event) && wake(true));
    const timer = setTimeout(() => wake(false), FINAL_EVENT_GRACE_MS);
    try {
      // Subscribed before this read: an event appended in between is either read here or heard by the listener.
      const last = await this.eventLog.last(runId).catch(() => null);
      // No Redis log: it expired long after the run was archived (or Redis is down); nothing is on its way.
      if (!last) return false;
      return isTerminalEvent(last) || (await seen);
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }

  /** The tenant's agent, or 404 (another tenant's agent must stay invisible). */
  private async agentOf(tenantId: string, agentId: string): Promise<Agent> {
    const agent = await databaseCall(() => this.agents.findById(tenantId, agentId));
    if (!agent) throw ApiError.notFound(`agent ${agentId}`);
    return agent;
  }

  private async readLog(run: Run, afterSeq: number, limit: number): Promise<RunEventV1[]> {
    let archived: RunEventV1[] = [];
    if (isFinished(run)) archived = await databaseCall(() => this.archive.list(run.tenant_id, run.id, { afterSeq, limit }));
    if (archived.length > 0) return archived;
    try {
      return await this.eventLog.read(run.id, { afterSeq, limit });
    } catch (error) {
      // An archived run paged past its end reads nothing from the archive; Redis being down changes nothing then.
      if (isFinished(run) && afterSeq > 0) return [];
      throw ApiError.unavailable('redis_unavailable', 'The event log is unavailable; retry later', error);
    }
  }

  private seqOf(runId: string, eventId: string): number {
    const [id, seq] = eventId.split(':');
    if (id !== runId) throw new ApiError(400, 'validation_failed', 'after must be an event id of this run');
    return Number(seq);
  }
}

/** Identifies a request body for idempotency: same key with another body is a client bug, not a retry. */
function hashRequest(agentId: string, input: JsonValue): string {
  return createHash('sha256').update(JSON.stringify([agentId, input])).digest('hex');
}
