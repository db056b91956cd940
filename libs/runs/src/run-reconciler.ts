import { TERMINAL_RUN_STATUSES } from '@skreaver/contracts';
import type { Agent, Queues, Run, RunJobV1 } from '@skreaver/contracts';
import type { AgentRunSlots, TypedQueue } from '@skreaver/messaging';
import type { JsonLogger } from '@skreaver/observability';
import type { AgentRepository, RunRepository } from '@skreaver/persistence';

import type { RunExecutor } from './execution/run-executor';
import type { RunDispatcher } from './run-dispatcher';

/** What one pass changed, by action. */
export interface ReconcileReport {
  /** Open runs checked. */
  checked: number;
  /** Open runs whose job was gone, put on the queue again. */
  requeued: number;
  /** Queued runs that had neither a slot nor a place in line, given one again. */
  readmitted: number;
  /** Running runs whose job was gone after their last attempt, failed as `worker_lost`. */
  abandoned: number;
  /** Slots (or places in line) held by runs that had ended or no longer exist, given back. */
  released: number;
}

export interface RunReconcilerOptions {
  /** Attempts a run gets in all (RUN_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Runs younger than this are left alone: their creator may still be admitting and enqueueing them. */
  graceMs: number;
  /** Open runs read per database query. */
  pageSize?: number;
}

type RunQueueLike = Pick<TypedQueue<typeof Queues.runs>, 'standing' | 'requeue'>;

/**
 * Finds accepted runs that nothing will ever finish and puts them back on their way, and frees slots that runs which
 * ended never gave back. Every action is idempotent and re-checks what it acts on, so any number of coordinators may
 * run it at once (they take turns through a lock to save work, not for correctness).
 *
 * - An open run whose job is gone (failed after its workers kept dying, lost with Redis data, never added because its
 *   creator died) is enqueued again with the attempts it has left, or failed as `worker_lost` when it has none left.
 *   A cancellation requested meanwhile is honoured by the executor when the job runs.
 * - A queued run with no slot and no place in line is admitted again (waiting its turn under any policy).
 * - A slot or place in line held by a run that ended or was deleted is released, admitting whoever waits.
 * A run whose job is pending or active is left to the queue: its workers hand a dead worker's job on by themselves.
 */
export class RunReconciler {
  constructor(
    private readonly runs: RunRepository,
    private readonly agents: AgentRepository,
    private readonly queue: RunQueueLike,
    private readonly slots: AgentRunSlots,
    private readonly dispatcher: RunDispatcher,
    private readonly executor: Pick<RunExecutor, 'abandon'>,
    private readonly logger: JsonLogger,
    private readonly options: RunReconcilerOptions,
  ) {}

  /** One pass over every open run older than the grace period and every agent's slots. */
  async reconcile(now = Date.now()): Promise<ReconcileReport> {
    const report: ReconcileReport = { checked: 0, requeued: 0, readmitted: 0, abandoned: 0, released: 0 };
    const createdBefore = new Date(now - this.options.graceMs).toISOString();
    const pageSize = this.options.pageSize ?? 500;
    let after: Run | undefined;
    for (;;) {
      const page = await this.runs.listOpenCreatedBefore(createdBefore, pageSize, after);
      for (const run of page) {
        report.checked += 1;
        await this.checkRun(run, report);
      }
      after = page.at(-1);
      if (page.length < pageSize || !after) break;
    }
    await this.checkSlots(report);
    if (report.requeued + report.readmitted + report.abandoned + report.released > 0) {
      this.logger.write('warn', 'Reconciled stranded runs', { ...report }, 'runs');
    }
    return report;
  }

  private async checkRun(listed: Run, report: ReconcileReport): Promise<void> {
    // A run waiting for input has no job on purpose: its resume (or the input expiry sweeper) puts it on its way.
    if (listed.status === 'waiting_input') return;
    const standing = await this.queue.standing(listed.id);
    if (standing === 'pending' || standing === 'active') return;
    // Read again after the job: a job ends only after its run did, so a run still open now has truly lost its job.
    const run = await this.runs.findById(listed.tenant_id, listed.id);
    if (!run || TERMINAL_RUN_STATUSES.includes(run.status) || run.status === 'waiting_input') return;
    const agent = await this.agents.findById(run.tenant_id, run.agent_id);
    if (!agent) return;
    const job: RunJobV1 = { run_id: run.id, agent_id: agent.id, tenant_id: run.tenant_id };

    if (run.status === 'queued') {
      let place = await this.dispatcher.standing(agent.id, run.id, run.thread_id);
      if (place === null) {
        const admission = await this.dispatcher.readmit(agent, run.id);
        report.readmitted += 1;
        place = admission.outcome === 'start' ? 'active' : 'pending';
      }
      // Waiting its turn: the run that frees a slot enqueues it.
      if (place === 'pending') return;
      if (await this.queue.requeue(run.id, job, { attempts: this.options.maxAttempts })) report.requeued += 1;
      return;
    }

    const left = this.options.maxAttempts - run.attempts;
    if (left <= 0) {
      await this.executor.abandon(job, `its job was lost after its last attempt (${run.attempts} of ${this.options.maxAttempts})`);
      report.abandoned += 1;
      return;
    }
    if (await this.queue.requeue(run.id, job, { attempts: left })) report.requeued += 1;
  }

  private async checkSlots(report: ReconcileReport): Promise<void> {
    for await (const holder of this.slots.holders()) {
      let agent: Agent | null | undefined;
      for (const runId of [...holder.active, ...holder.pending]) {
        const run = await this.runs.findByIdAnyTenant(runId);
        // A waiting run gave its slot back when it began to wait; one it still holds was left by a crash in between.
        if (run && !TERMINAL_RUN_STATUSES.includes(run.status) && run.status !== 'waiting_input') continue;
        agent ??= await this.agents.findByIdAnyTenant(holder.agentId);
        if (!agent) {
          // The agent is gone with its runs: nothing may wait on its slots.
          await this.dispatcher.clear(holder.agentId);
          report.released += holder.active.length + holder.pending.length;
          break;
        }
        await this.dispatcher.release(agent, runId, run?.thread_id);
        report.released += 1;
      }
    }
  }
}
