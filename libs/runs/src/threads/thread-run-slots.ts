import type { DoubleTextingPolicy } from '@skreaver/contracts';
import { AgentRunSlots } from '@skreaver/messaging';
import type { Admission, AdmissionMode } from '@skreaver/messaging';
import type { RedisClient } from '@skreaver/messaging';

const MODES: Record<DoubleTextingPolicy, AdmissionMode> = { reject: 'reject', enqueue: 'queue', interrupt: 'interrupt' };

/**
 * One turn at a time per thread: the same slot machinery as agents (`AgentRunSlots`: a set of admitted runs and a
 * FIFO of waiting ones, changed only by Lua scripts), under its own key prefix (`<prefix>:threads:agent-slots:{id}`),
 * keyed by thread id with a limit of one. A thread run holds its thread's slot from admission until it ends, and
 * holds an agent slot as well while it executes, so the agent's own limits still apply.
 */
export class ThreadRunSlots {
  constructor(private readonly slots: AgentRunSlots) {}

  /** Asks for the thread's turn under the thread's double-texting policy. */
  admit(threadId: string, runId: string, policy: DoubleTextingPolicy): Promise<Admission> {
    return this.slots.admit(threadId, runId, 1, MODES[policy]);
  }

  /** Ends `runId`'s turn (or its wait) and returns the run admitted in its place, if any. */
  release(threadId: string, runId: string): Promise<string[]> {
    return this.slots.release(threadId, runId, 1);
  }

  /** Whether `runId` holds its thread's turn, waits for it, or neither. */
  standing(threadId: string, runId: string): Promise<'active' | 'pending' | null> {
    return this.slots.standing(threadId, runId);
  }

  /** The run holding the thread's turn (none or one). */
  active(threadId: string): Promise<string[]> {
    return this.slots.active(threadId);
  }

  /** Forgets a deleted thread's turns. */
  clear(threadId: string): Promise<void> {
    return this.slots.clear(threadId);
  }
}

/** The thread slots of a service: `AgentRunSlots` under `<keyPrefix>:threads`, apart from the agents' own. */
export function threadRunSlots(redis: RedisClient, keyPrefix: string): ThreadRunSlots {
  return new ThreadRunSlots(new AgentRunSlots(redis, `${keyPrefix}:threads`));
}
