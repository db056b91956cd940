import { Inject, Injectable } from '@nestjs/common';
import { ConversationThread } from '@skreaver/agent-runtime';
import type { JsonValue, Run, RunStatus, Thread, ThreadCheckpoint, ThreadMessage, ThreadStatus } from '@skreaver/contracts';
import { ThreadRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

import type { RunExecutionConfig } from '../execution/run-execution.config';
import { RUN_EXECUTION_CONFIG } from '../execution/run-execution.tokens';
import { trimConversation } from './thread-size-policy';
import type { ThreadSizePolicy } from './thread-size-policy';

/**
 * The thread side of executing a thread run (`RunExecutor` calls it): loads the conversation and state for the
 * agent (`context.thread`), records the completed turn (conversation trimmed by the size policy, state, and one
 * checkpoint with `step` = the turn's number), and keeps the thread's status: `busy` while a run of it is open,
 * then `idle`, or `error` after a failed run.
 */
@Injectable()
export class ThreadTurns {
  private readonly policy: ThreadSizePolicy;

  constructor(
    private readonly threads: ThreadRepository,
    @Inject(RUN_EXECUTION_CONFIG) config: Pick<RunExecutionConfig, 'THREAD_MAX_MESSAGES' | 'THREAD_MAX_BYTES'>,
  ) {
    this.policy = { maxMessages: config.THREAD_MAX_MESSAGES, maxBytes: config.THREAD_MAX_BYTES };
  }

  /**
   * The run's thread as the agent sees it, or undefined for a run of no thread (or of a deleted one). A run attempted
   * before whose turn is already recorded (its process died between recording the turn and storing the run's result)
   * sees the thread as its first attempt did: as the checkpoint before its own left it.
   */
  async open(run: Run): Promise<ConversationThread | undefined> {
    if (!run.thread_id) return undefined;
    const stored = await this.threads.findById(run.tenant_id, run.thread_id);
    if (!stored) return undefined;
    const recorded = run.attempts > 0 ? await this.threads.checkpointOfRun(stored.thread.id, run.id) : null;
    const before = recorded && recorded.step > 1 ? await this.priorCheckpoint(stored.thread, recorded.step - 1) : null;
    if (recorded && (recorded.step === 1 || before)) {
      return new ConversationThread(stored.thread.id, recorded.step, trimConversation(before?.messages ?? [], this.policy), before?.state ?? null);
    }
    return new ConversationThread(stored.thread.id, stored.thread.turns + 1, trimConversation(stored.messages, this.policy), stored.thread.state);
  }

  /** The thread's checkpoint at `step`: its own, or for a fork's first turn the one it was forked from. */
  private async priorCheckpoint(thread: Thread, step: number): Promise<ThreadCheckpoint | null> {
    const own = await this.threads.checkpointAt(thread.id, step);
    if (own || !thread.forked_from) return own;
    const origin = await this.threads.findCheckpoint(thread.tenant_id, thread.forked_from.thread_id, thread.forked_from.checkpoint_id);
    return origin?.step === step ? origin : null;
  }

  /** The run started: its thread is busy. */
  async started(run: Run): Promise<void> {
    if (run.thread_id) await this.threads.setStatus(run.thread_id, 'busy', nowIso());
  }

  /**
   * Stores the completed turn: the history, then what the agent appended (or, if it appended nothing, the input as
   * a `user` message and the output as an `assistant` one), trimmed; the state; a checkpoint. Idempotent per run.
   */
  async completed(run: Run, thread: ConversationThread, input: JsonValue, output: JsonValue): Promise<void> {
    if (!run.thread_id) return;
    const appended: ThreadMessage[] =
      thread.appended.length > 0 ? [...thread.appended] : [{ role: 'user', content: asText(input) }, { role: 'assistant', content: asText(output) }];
    const messages = trimConversation([...thread.history, ...appended], this.policy);
    // Idle already (unless another run of it is open), so a client that sees the run completed sees the thread idle.
    const open = await this.threads.countOpenRuns(run.thread_id, run.id);
    await this.threads.recordTurn(run.thread_id, { runId: run.id, messages, state: thread.state, at: nowIso(), status: open > 0 ? 'busy' : 'idle' });
  }

  /**
   * The run waits for a person (run status `waiting_input`, helper H's): its thread says so. The run keeps its thread's
   * turn while it waits (only its agent slot is given back), so a new input meets the thread's double-texting policy.
   */
  async waiting(run: Run): Promise<void> {
    // Only while it still waits: a resume in between already has the run on its way (its start sets `busy`).
    if (run.thread_id) await this.threads.markWaiting(run.thread_id, run.id, nowIso());
  }

  /** The run ended (`ended.status`): its thread is idle (or `error` after a failure) unless another run of it is open. */
  async ended(ended: Run): Promise<void> {
    if (!ended.thread_id) return;
    const open = await this.threads.countOpenRuns(ended.thread_id, ended.id);
    await this.threads.setStatus(ended.thread_id, open > 0 ? 'busy' : statusAfter(ended.status), nowIso());
  }
}

/**
 * A thread's status once its run has ended. A run that waits for a person (`waiting_input`) has not ended: the
 * executor calls `waiting` where it parks such a run, and `started` when it runs again.
 */
function statusAfter(status: RunStatus): ThreadStatus {
  return status === 'failed' ? 'error' : 'idle';
}

function asText(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
