import { runEventId } from '@skreaver/contracts';
import type { Agent, Run } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import { RunEventArchive, RunRepository, ThreadRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

import type { RunDispatcher } from './run-dispatcher';

/**
 * Cancels runs that have not started, or wait for input: no executor will ever touch a cancelled run (it cannot start
 * one), so the canceller ends its log, archives it and frees its agent's slot (and its thread's turn) itself.
 */
export class QueuedRunCanceller {
  constructor(
    private readonly runs: RunRepository,
    private readonly eventLog: RunEventLog,
    private readonly archive: RunEventArchive,
    private readonly dispatcher: RunDispatcher,
    private readonly eventsTtlSeconds: number,
    private readonly threads?: Pick<ThreadRepository, 'countOpenRuns' | 'setStatus'>,
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
    const error = { code: 'cancelled', message: reason };
    // Waiting first: only a waiting run marked its thread (`waiting_input`), so only its end changes the thread's status.
    const wasWaiting = await this.runs.markCancelled(run.id, error, finishedAt, ['waiting_input']);
    if (!wasWaiting && !(await this.runs.markCancelled(run.id, error, finishedAt, ['queued']))) return false;
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
    if (wasWaiting && threadId) await this.freeThread(threadId, run.id, finishedAt);
    return true;
  }

  /**
   * A cancelled waiting run held its thread's turn and left the thread `waiting_input`: the thread is `busy` if a run
   * of it is queued for the turn (the release above admitted it), else `idle`. No executor would ever change it.
   */
  private async freeThread(threadId: string, runId: string, at: string): Promise<void> {
    if (!this.threads) return;
    const open = await this.threads.countOpenRuns(threadId, runId);
    await this.threads.setStatus(threadId, open > 0 ? 'busy' : 'idle', at);
  }
}
