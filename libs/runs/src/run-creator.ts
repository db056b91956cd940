import { runEventId } from '@skreaver/contracts';
import type { Agent, JsonValue, Run, RunSource } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import { RunRepository } from '@skreaver/persistence';
import { newId, nowIso } from '@skreaver/util';

import type { RunCancellation } from './run-cancellation';
import type { RunDispatcher } from './run-dispatcher';

/** The agent's policy is `reject` and it is busy: the run was not created. */
export class RunRejectedError extends Error {
  constructor(readonly agentId: string) {
    super(`agent ${agentId} is busy and its policy rejects runs while it works`);
    this.name = 'RunRejectedError';
  }
}

export interface CreateRunOptions {
  source: RunSource;
  /**
   * Makes creation idempotent per agent: a second call with the same key finds the first run (unique index on
   * tenant, agent and key) and creates nothing. Mesh deliveries use `mesh:<message id>`.
   */
  idempotencyKey?: string;
  /** Runs only when the run is new (not for an idempotent repeat); throwing refuses it, e.g. a full inbox. */
  precheck?: () => Promise<void>;
}

/**
 * Creates a run outside agent-api's request path (mesh deliveries): stores it, logs `run.queued` as event 1, admits
 * it under the agent's concurrency policy and enqueues it when admitted. The same steps, in the same order, as
 * agent-api's `RunsService.submit`, whose HTTP-specific parts (idempotency replays, 409s) stay there.
 */
export class RunCreator {
  constructor(
    private readonly runs: RunRepository,
    private readonly eventLog: RunEventLog,
    private readonly dispatcher: RunDispatcher,
    private readonly cancellation: RunCancellation,
  ) {}

  /**
   * @returns the run, and whether this call created it (false: an earlier call with the idempotency key did).
   * @throws RunRejectedError when the agent's policy is `reject` and it is busy (nothing stays behind).
   */
  async create(agent: Agent, input: JsonValue, options: CreateRunOptions): Promise<{ run: Run; created: boolean }> {
    if (options.idempotencyKey) {
      const earlier = await this.runs.findByIdempotencyKey(agent.tenant_id, agent.id, options.idempotencyKey);
      if (earlier) {
        await this.resume(agent, earlier.run);
        return { run: earlier.run, created: false };
      }
    }
    await options.precheck?.();
    const run: Run = {
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
      created_at: nowIso(),
      started_at: null,
      finished_at: null,
    };
    try {
      await this.runs.insert(run);
    } catch (error) {
      // Two deliveries of one message raced on the unique key: the winner's run stands.
      const earlier = options.idempotencyKey && (await this.runs.findByIdempotencyKey(agent.tenant_id, agent.id, options.idempotencyKey));
      if (earlier) return { run: earlier.run, created: false };
      throw error;
    }
    try {
      await this.admit(agent, run);
    } catch (error) {
      // A run that cannot be admitted must not stay queued with nothing behind it; the caller may retry the whole.
      await this.runs.delete(run.id).catch(() => undefined);
      await this.dispatcher.release(agent, run.id).catch(() => undefined);
      throw error;
    }
    return { run, created: true };
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

  private async admit(agent: Agent, run: Run): Promise<void> {
    if (agent.concurrency.policy === 'reject') {
      const admission = await this.dispatcher.admit(agent, run.id);
      if (admission.outcome === 'rejected') throw new RunRejectedError(agent.id);
      await this.appendQueued(run);
      await this.dispatcher.enqueue(agent, run.id);
      return;
    }
    // Logged before admission: once admitted, a coordinator may start the run and append the events after it.
    await this.appendQueued(run);
    const admission = await this.dispatcher.admit(agent, run.id);
    if (admission.outcome === 'interrupt') {
      for (const victim of admission.interrupted) await this.interrupt(agent, victim, `interrupted by run ${run.id}`);
    }
    if (admission.outcome !== 'queued') await this.dispatcher.enqueue(agent, run.id);
  }

  /** Cancels a victim of the `interrupt` policy: a queued one here (it may never get a job), a running one by signal. */
  private async interrupt(agent: Agent, victimId: string, reason: string): Promise<void> {
    const finishedAt = nowIso();
    if (!(await this.runs.markCancelled(victimId, { code: 'cancelled', message: reason }, finishedAt, ['queued']))) {
      await this.cancellation.request(victimId, reason);
      return;
    }
    const last = await this.eventLog.last(victimId);
    const seq = (last?.seq ?? 0) + 1;
    await this.eventLog.append({
      id: runEventId(victimId, seq),
      run_id: victimId,
      agent_id: agent.id,
      tenant_id: agent.tenant_id,
      seq,
      ts: finishedAt,
      type: 'run.cancelled',
      data: { reason, by: 'policy:interrupt' },
    });
    await this.dispatcher.release(agent, victimId);
  }

  private appendQueued(run: Run): Promise<boolean> {
    return this.eventLog.append({
      id: runEventId(run.id, 1),
      run_id: run.id,
      agent_id: run.agent_id,
      tenant_id: run.tenant_id,
      seq: 1,
      ts: run.created_at,
      type: 'run.queued',
      data: { input: run.input },
    });
  }
}
