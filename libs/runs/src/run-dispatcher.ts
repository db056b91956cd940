import type { Agent, AgentConcurrency, RunJobV1 } from '@skreaver/contracts';
import { AgentRunSlots } from '@skreaver/messaging';
import type { Admission, AdmissionMode, FannedOutEntry } from '@skreaver/messaging';

import type { RunJobQueue } from './in-process-run-queue';
import type { ThreadRunSlots } from './threads/thread-run-slots';

const MODES: Record<AgentConcurrency['policy'], AdmissionMode> = {
  enqueue: 'queue',
  parallel: 'queue',
  reject: 'reject',
  interrupt: 'interrupt',
};

/**
 * Admits runs under their agent's concurrency policy and puts admitted runs on the run queue; when a run ends,
 * hands its slot to the next waiting run. The slot bookkeeping is `AgentRunSlots`; this adds the policy mapping
 * and the enqueueing, which agent-api (new runs) and coordinators (finished runs) both need.
 */
export class RunDispatcher {
  constructor(
    private readonly slots: AgentRunSlots,
    private readonly queue: RunJobQueue,
    private readonly maxAttempts: number,
    /** One turn at a time per thread (`POST /threads/{id}/runs`); without it, thread runs only wait for their agent. */
    readonly threads?: ThreadRunSlots,
  ) {}

  /** Asks the agent's policy about `runId`; the caller enqueues on `start` / `interrupt` with `enqueue`. */
  admit(agent: Pick<Agent, 'id' | 'concurrency'>, runId: string): Promise<Admission> {
    return this.slots.admit(agent.id, runId, agent.concurrency.max_concurrency, MODES[agent.concurrency.policy]);
  }

  /**
   * `admit` of a run created just now, its script sent before this returns (after what was sent before it on the
   * slots' connection); with `logged`, the same script appends the run's first event before admitting it, and then,
   * when the run queue is a stream queue, enqueues a run admitted to start (`{ outcome: 'start', enqueued: true }`:
   * the caller must not enqueue it again). The run must be new (see `AgentRunSlots.admitNew`).
   */
  admitNew(agent: Pick<Agent, 'id' | 'tenant_id' | 'concurrency'>, runId: string, logged?: FannedOutEntry): Promise<Admission> {
    const job = logged && this.queue.entry?.(this.job(agent, runId), { jobId: runId, attempts: this.maxAttempts });
    return this.slots.admitNew(agent.id, runId, agent.concurrency.max_concurrency, MODES[agent.concurrency.policy], logged, job);
  }

  /**
   * Asks again for a slot for an accepted run that lost its place (its admission was never recorded or was lost):
   * it waits its turn whatever the agent's policy, since refusing or interrupting is for new requests only.
   */
  readmit(agent: Pick<Agent, 'id' | 'concurrency'>, runId: string): Promise<Admission> {
    return this.slots.admit(agent.id, runId, agent.concurrency.max_concurrency, 'queue');
  }

  /** Puts an admitted run on the queue; the job id is the run id, so enqueueing twice is harmless. */
  async enqueue(agent: Pick<Agent, 'id' | 'tenant_id'>, runId: string, attempts = this.maxAttempts): Promise<void> {
    await this.queue.add(this.job(agent, runId), { jobId: runId, attempts });
  }

  /** `enqueue` for many admitted runs, in one round trip when the queue can (`addBulk`); in order. */
  async enqueueMany(runs: readonly { agent: Pick<Agent, 'id' | 'tenant_id'>; runId: string }[]): Promise<void> {
    const jobs = runs.map(({ agent, runId }) => ({
      payload: this.job(agent, runId),
      options: { jobId: runId, attempts: this.maxAttempts },
    }));
    if (jobs.length === 0) return;
    if (this.queue.addBulk) {
      await this.queue.addBulk(jobs);
      return;
    }
    for (const job of jobs) await this.queue.add(job.payload, job.options);
  }

  /**
   * Removes the finished job of a run that is to be enqueued again (resumed after waiting for input): a job id that
   * still exists makes the next `enqueue` a no-op. Waits up to `waitMs` for a job still active (the attempt that
   * suspended the run is wrapping up). False when a job stayed active: the reconciler requeues the run later.
   */
  async forgetFinishedJob(runId: string, waitMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const standing = await this.queue.removeFinished(runId);
      if (standing !== 'active') return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Ends `runId`'s hold on its agent and enqueues the runs admitted in its place; returns their ids. A thread run
   * (`threadId`) also ends its thread's turn: the thread's next waiting run then asks its agent for a slot.
   */
  async release(agent: Pick<Agent, 'id' | 'tenant_id' | 'concurrency'>, runId: string, threadId?: string | null): Promise<string[]> {
    const admitted = await this.slots.release(agent.id, runId, agent.concurrency.max_concurrency);
    for (const next of admitted) await this.enqueue(agent, next);
    if (threadId && this.threads) {
      for (const next of await this.threads.release(threadId, runId)) {
        if ((await this.readmit(agent, next)).outcome === 'start') {
          await this.enqueue(agent, next);
          admitted.push(next);
        }
      }
    }
    return admitted;
  }

  private job(agent: Pick<Agent, 'id' | 'tenant_id'>, runId: string): RunJobV1 {
    return { run_id: runId, agent_id: agent.id, tenant_id: agent.tenant_id };
  }

  depth(agentId: string): Promise<{ active: number; pending: number }> {
    return this.slots.depth(agentId);
  }

  /**
   * Whether `runId` holds a slot of its agent (`active`), waits for one (`pending`), or neither. A thread run waiting
   * for its thread's turn (`threadId`) counts as `pending`: the run before it hands it on.
   */
  async standing(agentId: string, runId: string, threadId?: string | null): Promise<'active' | 'pending' | null> {
    const standing = await this.slots.standing(agentId, runId);
    if (standing === null && threadId && this.threads && (await this.threads.standing(threadId, runId)) === 'pending') return 'pending';
    return standing;
  }

  /** Forgets a deleted agent's slots. */
  clear(agentId: string): Promise<void> {
    return this.slots.clear(agentId);
  }
}
