import { JsonValue, ThreadMessage } from '@skreaver/contracts';

import { AgentFailure } from '../agent-errors';

/**
 * The conversation a run belongs to (`context.thread`, set for runs made with `POST /threads/{id}/runs`): the
 * messages before this run and the thread's JSON state. What the agent appends and the state it sets are stored
 * when the run completes (a failed or cancelled run changes nothing), and a checkpoint records the result.
 */
export interface AgentThread {
  readonly id: string;
  /** This run's turn: 1 for the thread's first completed run, then 2, 3… (the step of the checkpoint it makes). */
  readonly turn: number;
  /** The conversation before this run, oldest first, as the size policy left it. */
  readonly history: readonly ThreadMessage[];
  /** The thread's state: as this run found it (null for a new thread), or as `setState` last set it. */
  readonly state: JsonValue;
  /** Replaces the thread's state (any JSON); stored when the run completes. */
  setState(state: JsonValue): void;
  /**
   * Adds messages after the history (user input, assistant answers, tool results, in the chat shape). When an agent
   * appends nothing, the platform records the turn as the input (`user`) and the output (`assistant`).
   */
  append(...messages: ThreadMessage[]): void;
  /** What this run has appended so far. */
  readonly appended: readonly ThreadMessage[];
}

/** The `AgentThread` of one attempt, built from the stored thread. */
export class ConversationThread implements AgentThread {
  private current: JsonValue;
  private readonly added: ThreadMessage[] = [];

  constructor(
    readonly id: string,
    readonly turn: number,
    readonly history: readonly ThreadMessage[],
    state: JsonValue,
  ) {
    this.current = state;
  }

  get state(): JsonValue {
    return this.current;
  }

  get appended(): readonly ThreadMessage[] {
    return this.added;
  }

  setState(state: JsonValue): void {
    const parsed = JsonValue.safeParse(state);
    if (!parsed.success) throw new AgentFailure('invalid_thread_state', 'the thread state must be JSON', true);
    this.current = structuredClone(parsed.data);
  }

  append(...messages: ThreadMessage[]): void {
    for (const message of messages) {
      const parsed = ThreadMessage.safeParse(message);
      if (!parsed.success) throw new AgentFailure('invalid_thread_message', `not a thread message: ${parsed.error.message.slice(0, 200)}`, true);
      this.added.push(parsed.data);
    }
  }
}
