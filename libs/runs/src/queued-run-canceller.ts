import { runEventId } from '@skreaver/contracts';
import type { Agent, Run } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import { RunEventArchive, RunRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

import type { RunDispatcher } from './run-dispatcher';

/**
 * Cancels runs that have not started: no executor will ever touch a cancelled run (it cannot start one), so the
 * canceller ends its log, archives it and frees its agent's slot itself.
 */
export class QueuedRunCanceller {
  constructor(
    private readonly runs: RunRepository,
    private readonly eventLog: RunEventLog,
    private readonly archive: RunEventArchive,
    private readonly dispatcher: RunDispatcher,
    private readonly eventsTtlSeconds: number,
  ) {}

  /**
   * Cancels `run` if it is still queued or waiting for input (no executor holds either); false when an executor has
   * it (or it finished): cancel that one by signal. Releasing a waiting run's slot, which it gave back when it began
   * to wait, frees nothing twice: the agent's slots are a set.
   */
  async cancel(
    agent: Pick<Agent, 'id' | 'tenant_id' | 'concurrency'>,
    run: Pick<Run, 'id'> & Partial<Pick<Run, 'thread_id'>>,
    reason: string,
    by: string,
  ): Promise<boolean> {
    const finishedAt = nowIso();
    if (!(await this.runs.markCancelled(run.id, { code: 'cancelled', message: reason }, finishedAt, ['queued', 'waiting_input']))) return false;
    // A thread run also hands its thread's turn on; a caller that only knows the run id leaves it to this read.
    const threadId = run.thread_id !== undefined ? run.thread_id : (await this.runs.findByIdAnyTenant(run.id))?.thread_id;
    const last = await this.eventLog.last(run.id);
    const seq = (last?.seq ?? 0) + 1;
    await this.eventLog.append({
      id: runEventId(run.id, seq),
      run_id: run.id,
      agent_id: agent.id,
      tenant_id: agent.tenant_id,
      seq,
      ts: finishedAt,
      type: 'run.cancelled',
      data: { reason, by },
    });
    await this.archive.append(await this.eventLog.read(run.id, { limit: 10_000 }));
    await this.eventLog.expire(run.id, this.eventsTtlSeconds);
    await this.dispatcher.release(agent, run.id, threadId);
    return true;
  }
}
