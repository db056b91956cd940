import { runEventId } from '@skreaver/contracts';
import type { Agent, JsonValue, Run, RunEventV1, RunSource } from '@skreaver/contracts';
import { RunEventLog, isCluster } from '@skreaver/messaging';
import type { Admission, RedisClient } from '@skreaver/messaging';
import { RunRepository } from '@skreaver/persistence';
import { newId, nowIso } from '@skreaver/util';

import type { QueuedRunCanceller } from './queued-run-canceller';
import type { RunCancellation } from './run-cancellation';
import type { RunDispatcher } from './run-dispatcher';

/** A policy refused the run (the agent's, or a `RunGate`'s): it was not created and nothing stays behind. */
export class RunRefusedError extends Error {}

/** The agent's policy is `reject` and it is busy: the run was not created. */
export class RunRejectedError extends RunRefusedError {
  constructor(readonly agentId: string) {
    super(`agent ${agentId} is busy and its policy rejects runs while it works`);
    this.name = 'RunRejectedError';
  }
}

/** An earlier run holds the idempotency key, made from another request: a client bug, not a retry. */
export class IdempotencyKeyReusedError extends Error {
  constructor(readonly key: string) {
    super('This Idempotency-Key was used with a different request body');
    this.name = 'IdempotencyKeyReusedError';
  }
}

/**
 * The run was stored but could not be logged, admitted or enqueued (Redis, the queue): it was removed again and its
 * agent's slot freed, so nothing stays behind; the caller may retry the whole (with the same idempotency key).
 */
export class RunAdmissionError extends Error {
  constructor(
    readonly runId: string,
    cause: unknown,
  ) {
    super(`run ${runId} could not be admitted: ${String(cause)}`, { cause });
    this.name = 'RunAdmissionError';
  }
}

export interface CreateRunOptions {
  source: RunSource;
  /**
   * Makes creation idempotent per agent: a second call with the same key finds the first run (unique index on
   * tenant, agent and key) and creates nothing. Mesh deliveries use `mesh:<message id>`.
   */
  idempotencyKey?: string;
  /** Identifies the request that made the run: a later call with the key and another hash is refused (`IdempotencyKeyReusedError`). */
  requestHash?: string;
  /** The failed run this one submits again (`POST /runs/{id}/redrive`); logged in `run.queued`. */
  redrivenFrom?: string;
  /** Runs only when the run is new (not for an idempotent repeat); throwing refuses it, e.g. a full inbox. */
  precheck?: () => Promise<void>;
  /** The thread the run is a turn of (`POST /threads/{id}/runs`). */
  threadId?: string;
  /** Admits the run before its agent does (a thread's turn); see `RunGate`. */
  gate?: RunGate;
}

/**
 * A second admission in front of the agent's (a thread's one-turn-at-a-time, `threads/thread-run-gate.ts`): `admit`
 * answers `proceed` (ask the agent now) or `hold` (it waits; whoever ends the turn before it hands it on), or throws
 * to refuse the run (nothing stays behind); `undo` gives back what `admit` took when the run is not created after all.
 */
export interface RunGate {
  /** True when `admit` may refuse the run (it is then asked before anything is logged). */
  readonly mayRefuse: boolean;
  /** @throws RunRefusedError (a subclass) to refuse the run. */
  admit(run: Run): Promise<'proceed' | 'hold'>;
  undo(run: Run): Promise<void>;
  /** Whether the run waits behind the gate (an idempotent repeat must not admit it to its agent). */
  holds(run: Run): Promise<boolean>;
}

/**
 * Creates runs (agent-api's `POST /agents/{id}/runs`, mesh deliveries): stores the run, logs `run.queued` as event
 * 1, admits it under the agent's concurrency policy and enqueues it when admitted. Admission happens after the log
 * entry so an executor that starts the run at once appends after it; under `reject` it happens first, so a refused
 * run leaves no event.
 */
export class RunCreator {
  constructor(
    private readonly runs: RunRepository,
    private readonly eventLog: RunEventLog,
    private readonly dispatcher: RunDispatcher,
    private readonly cancellation: RunCancellation,
    private readonly canceller: QueuedRunCanceller,
    private readonly eventsTtlSeconds: number,
    /**
     * The connection of the event log and the agents' slots: given and a single server, a new run's `run.queued`
     * and its admission are one script, one command (see `logAndAdmit`).
     */
    private readonly redis?: RedisClient,
  ) {}

  /**
   * @returns the run, and whether this call created it (false: an earlier call with the idempotency key did).
   * @throws RunRejectedError when the agent's policy is `reject` and it is busy (nothing stays behind).
   * @throws IdempotencyKeyReusedError when the key's run was made from another request.
   * @throws RunAdmissionError when the stored run could not be logged, admitted or enqueued (nothing stays behind).
   */
  async create(agent: Agent, input: JsonValue, options: CreateRunOptions): Promise<{ run: Run; created: boolean }> {
    const earlier = await this.earlier(agent, options);
    if (earlier) {
      if (!(await options.gate?.holds(earlier))) await this.resume(agent, earlier);
      return { run: earlier, created: false };
    }
    await options.precheck?.();
    const draft: Run = {
      id: newId(),
      tenant_id: agent.tenant_id,
      agent_id: agent.id,
      status: 'queued',
      source: options.source,
      input,
      output: null,
      error: null,
      attempts: 0,
      idempotency_key: options.idempotencyKey ?? null,
      usage: null,
      thread_id: options.threadId ?? null,
      created_at: nowIso(),
      started_at: null,
      finished_at: null,
      pending_inputs: [],
    };
    // The run as stored: checked against the contract once, by the insert; its `run.queued` is made from it and not
    // checked again (see `queuedEvent`).
    let run: Run;
    try {
      run = await this.runs.insert(draft, { requestHash: options.requestHash });
    } catch (error) {
      // Two calls with one idempotency key raced on the unique index: the winner's run stands.
      const winner = await this.earlier(agent, options);
      if (winner) return { run: winner, created: false };
      throw error;
    }
    try {
      await this.admit(agent, run, options.redrivenFrom, options.gate, true);
    } catch (error) {
      // A run that cannot be admitted must not stay queued with nothing behind it, nor keep its agent's slot.
      await this.runs.delete(run.id).catch(() => undefined);
      await options.gate?.undo(run).catch(() => undefined);
      if (error instanceof RunRefusedError) throw error;
      await this.dispatcher.release(agent, run.id).catch(() => undefined);
      await this.eventLog.expire(run.id, this.eventsTtlSeconds).catch(() => undefined);
      throw new RunAdmissionError(run.id, error);
    }
    return { run, created: true };
  }

  /** The run an earlier call with the idempotency key made, if any. */
  private async earlier(agent: Agent, options: CreateRunOptions): Promise<Run | null> {
    if (!options.idempotencyKey) return null;
    const earlier = await this.runs.findByIdempotencyKey(agent.tenant_id, agent.id, options.idempotencyKey);
    if (!earlier) return null;
    if (earlier.requestHash !== (options.requestHash ?? null)) throw new IdempotencyKeyReusedError(options.idempotencyKey);
    return earlier.run;
  }

  /**
   * Finishes what an earlier call for the same run may have left undone when its process died: a run still queued
   * but neither holding nor awaiting a slot is admitted now, one holding a slot is enqueued again (harmless: the
   * job id is the run id).
   */
  private async resume(agent: Agent, run: Run): Promise<void> {
    if (run.status !== 'queued') return;
    const standing = await this.dispatcher.standing(agent.id, run.id);
    if (standing === 'active') await this.dispatcher.enqueue(agent, run.id);
    else if (standing === null) await this.admit(agent, run);
  }

  /** `fresh`: the run was stored just now (its log is empty), not found again by `resume`. */
  private async admit(agent: Agent, run: Run, redrivenFrom?: string, gate?: RunGate, fresh = false): Promise<void> {
    // A gate that may hold the run logs it first (the run before it may hand the turn on and start it at once); one
    // that may refuse it admits first, so a refused run leaves no event.
    let logged = false;
    if (gate) {
      if (!gate.mayRefuse) logged = await this.appendQueued(run, redrivenFrom).then(() => true);
      if ((await gate.admit(run)) === 'hold') {
        if (!logged) await this.appendQueued(run, redrivenFrom);
        return;
      }
    }
    if (agent.concurrency.policy === 'reject') {
      const admission = await this.dispatcher.admit(agent, run.id);
      if (admission.outcome === 'rejected') throw new RunRejectedError(agent.id);
      if (!logged) await this.appendQueued(run, redrivenFrom);
      await this.dispatcher.enqueue(agent, run.id);
      return;
    }
    // Logged before admission: once admitted, a coordinator may start the run and append the events after it.
    let admission: Admission;
    if (logged) admission = await this.dispatcher.admit(agent, run.id);
    else if (fresh) admission = await this.logAndAdmit(agent, run, redrivenFrom);
    else admission = await this.appendQueued(run, redrivenFrom).then(() => this.dispatcher.admit(agent, run.id));
    if (admission.outcome === 'interrupt') {
      for (const victim of admission.interrupted) await this.interrupt(agent, victim, `interrupted by run ${run.id}`);
    }
    if (admission.outcome === 'interrupt' || (admission.outcome === 'start' && !admission.enqueued)) await this.dispatcher.enqueue(agent, run.id);
  }

  /** Cancels a victim of the `interrupt` policy: a queued one here (it may never get a job), a running one by signal. */
  private async interrupt(agent: Agent, victimId: string, reason: string): Promise<void> {
    if (!(await this.canceller.cancel(agent, { id: victimId }, reason, 'policy:interrupt'))) await this.cancellation.request(victimId, reason);
  }

  /**
   * A new run's `run.queued`, then its admission. On one Redis server both are one script (`AgentRunSlots.admitNew`
   * with the event): one command, the log still first, and a failed append admits nothing; on the stream run queue
   * the same script also enqueues a run admitted to start. A script sent by SHA that
   * the server does not know (a restarted Redis) is sent again whole, log and admission together, so the order holds
   * there too. On a Redis Cluster the log's keys and the slots' live on different nodes, where only waiting for the
   * append keeps that order. A failure fails the whole, as a failed step does (`create` then removes the run and frees
   * any slot it got).
   */
  private async logAndAdmit(agent: Agent, run: Run, redrivenFrom?: string): Promise<Admission> {
    if (!this.redis || isCluster(this.redis)) {
      await this.appendQueued(run, redrivenFrom);
      return this.dispatcher.admit(agent, run.id);
    }
    return this.dispatcher.admitNew(agent, run.id, this.eventLog.firstEntry(queuedEvent(run, redrivenFrom), { own: isOwnEvent(redrivenFrom) }));
  }

  private appendQueued(run: Run, redrivenFrom?: string): Promise<boolean> {
    return this.eventLog.append(queuedEvent(run, redrivenFrom), { own: isOwnEvent(redrivenFrom) });
  }
}

/**
 * Whether a run's `run.queued` is made only of values already checked, so the log need not parse it again: the run's
 * fields were checked by `RunRepository.insert` (a new run) or when read back (`toRun`); a `redriven_from` is a
 * caller's string, checked with the event.
 */
function isOwnEvent(redrivenFrom: string | undefined): boolean {
  return redrivenFrom === undefined;
}

/** A run's first event. */
function queuedEvent(run: Run, redrivenFrom?: string): RunEventV1 {
  return {
    id: runEventId(run.id, 1),
    run_id: run.id,
    agent_id: run.agent_id,
    tenant_id: run.tenant_id,
    seq: 1,
    ts: run.created_at,
    type: 'run.queued',
    data: redrivenFrom === undefined ? { input: run.input } : { input: run.input, redriven_from: redrivenFrom },
  };
}
