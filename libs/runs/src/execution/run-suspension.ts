import type { RequestedInput } from '@skreaver/agent-runtime';
import type { Agent, JsonValue, PendingInput, Run, RunEventOf } from '@skreaver/contracts';
import type { AgentRepository, RunRepository } from '@skreaver/persistence';

import type { RunCancellation } from '../run-cancellation';
import type { RunDispatcher } from '../run-dispatcher';

/** What suspending a run needs from the executor. */
export interface SuspensionDeps {
  runs: Pick<RunRepository, 'markWaitingInput'>;
  agents: Pick<AgentRepository, 'settleActivity'>;
  dispatcher: Pick<RunDispatcher, 'release'>;
  cancellation: Pick<RunCancellation, 'requested'>;
  /** Runs a database call through the executor's outage wait. */
  db: <T>(operation: () => Promise<T>, what: string) => Promise<T>;
  /**
   * Marks the run's thread `waiting_input` (a thread run): before the event is logged, so a client that sees
   * `run.waiting_input` finds the thread waiting too.
   */
  markThreadWaiting?: () => Promise<void>;
  /** Appends `run.waiting_input` to the run's log (after what the attempt logged). */
  logWaiting: (data: RunEventOf<'run.waiting_input'>['data']) => Promise<void>;
  now?: () => number;
}

/** The pending inputs of a suspension, each with the instant its wait ends. */
export function pendingInputsOf(requested: readonly RequestedInput[], now: number): PendingInput[] {
  return requested.map((input) => ({
    id: input.id,
    kind: input.kind,
    prompt: input.prompt,
    ...(input.schema === undefined ? {} : { schema: asJson(input.schema) as Record<string, JsonValue> }),
    ...(input.tool === undefined ? {} : { tool: input.tool }),
    ...(input.tool_input === undefined ? {} : { tool_input: asJson(input.tool_input) }),
    expires_at: new Date(now + input.timeout_seconds * 1000).toISOString(),
    ...(input.default === undefined ? {} : { default: asJson(input.default) }),
  }));
}

/** A plugin's value as the JSON it stores as (`undefined` members dropped, dates as strings…). */
function asJson(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value) ?? 'null') as JsonValue;
}

/**
 * Suspends a running run whose agent asked for human input (`InputRequired`): the run becomes `waiting_input` with
 * its pending inputs and the attempt it was on counted as not spent (the resume's replay runs as that attempt
 * again), `run.waiting_input` is logged, the agent shows idle and its slot goes to the next run waiting for one. No
 * lifecycle hook hears of it: the run has not finished (a mesh requester gets its reply when it does).
 *
 * @returns null once the run waits; the reason when a cancellation was requested while it ran (the caller cancels it
 *   now, as nothing else would: a waiting run has no executor to abort).
 */
export async function suspendForInput(deps: SuspensionDeps, running: Run, agent: Agent, requested: readonly RequestedInput[]): Promise<string | null> {
  const now = deps.now?.() ?? Date.now();
  const pending = pendingInputsOf(requested, now);
  const attempts = Math.max(0, running.attempts - 1);
  if (!(await deps.db(() => deps.runs.markWaitingInput(running.id, pending, attempts), 'store run waiting for input'))) {
    // No longer running (it cannot be: only its executor moves a running run); leave it as it is.
    return null;
  }
  await deps.markThreadWaiting?.();
  await deps.logWaiting({ attempt: Math.max(1, running.attempts), pending_inputs: pending });
  await deps.db(() => deps.agents.settleActivity(running.tenant_id, agent.id, new Date(now).toISOString()), 'update agent');
  await deps.dispatcher.release(agent, running.id);
  return deps.cancellation.requested(running.id);
}
