import { TERMINAL_RUN_STATUSES } from '@skreaver/contracts';
import type { Agent, DoubleTextingPolicy, Run, Thread } from '@skreaver/contracts';
import { RunRepository } from '@skreaver/persistence';

import type { QueuedRunCanceller } from '../queued-run-canceller';
import type { RunCancellation } from '../run-cancellation';
import { RunRefusedError } from '../run-creator';
import type { RunGate } from '../run-creator';
import type { RunDispatcher } from '../run-dispatcher';

/** The thread's policy is `reject` and a run of it is open: the run was not created. */
export class ThreadBusyError extends RunRefusedError {
  constructor(readonly threadId: string) {
    super(`thread ${threadId} is busy and its double-texting policy rejects inputs while it works`);
    this.name = 'ThreadBusyError';
  }
}

/**
 * The double-texting policy a thread follows: its own, or else its agent's concurrency policy (`parallel` counts
 * as `enqueue`: the turns of one conversation never run at once).
 */
export function doubleTextingPolicy(agent: Pick<Agent, 'concurrency'>, thread: Pick<Thread, 'double_texting'>): DoubleTextingPolicy {
  if (thread.double_texting) return thread.double_texting;
  return agent.concurrency.policy === 'parallel' ? 'enqueue' : agent.concurrency.policy;
}

/**
 * Makes the `RunGate` that gives a thread one turn at a time (`RunDispatcher.threads`): a new input while a run of
 * the thread is open is refused (`reject`, `ThreadBusyError`), waits its turn (`enqueue`: the run before it hands
 * the turn on when it ends, see `RunDispatcher.release`), or cancels the open one (`interrupt`). A turn still held
 * by a run that has ended (its process died before giving it back) is given back first.
 */
export class ThreadRunGates {
  constructor(
    private readonly dispatcher: RunDispatcher,
    private readonly runs: RunRepository,
    private readonly canceller: QueuedRunCanceller,
    private readonly cancellation: RunCancellation,
  ) {}

  for(agent: Agent, thread: Pick<Thread, 'id' | 'double_texting'>): RunGate {
    const slots = this.dispatcher.threads;
    const policy = doubleTextingPolicy(agent, thread);
    if (!slots) return { mayRefuse: false, admit: async () => 'proceed', undo: async () => undefined, holds: async () => false };
    return {
      mayRefuse: policy === 'reject',
      admit: async (run: Run) => {
        await this.releaseEnded(agent, thread.id);
        const admission = await slots.admit(thread.id, run.id, policy);
        if (admission.outcome === 'rejected') throw new ThreadBusyError(thread.id);
        if (admission.outcome === 'queued') return 'hold';
        if (admission.outcome === 'interrupt') {
          const reason = `interrupted by run ${run.id} of thread ${thread.id}`;
          for (const victim of admission.interrupted.filter((id) => id !== run.id)) {
            if (!(await this.canceller.cancel(agent, { id: victim, thread_id: thread.id }, reason, 'policy:interrupt'))) {
              await this.cancellation.request(victim, reason);
            }
          }
        }
        return 'proceed';
      },
      undo: async (run: Run) => {
        await this.dispatcher.release(agent, run.id, thread.id);
      },
      holds: async (run: Run) => (await slots.standing(thread.id, run.id)) === 'pending',
    };
  }

  /** Gives back the thread's turn held by a run that has ended or is gone. */
  private async releaseEnded(agent: Agent, threadId: string): Promise<void> {
    for (const runId of (await this.dispatcher.threads?.active(threadId)) ?? []) {
      const run = await this.runs.findByIdAnyTenant(runId);
      if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) await this.dispatcher.release(agent, runId, threadId);
    }
  }
}
