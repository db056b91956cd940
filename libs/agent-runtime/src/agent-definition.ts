import type { AgentKind, JsonValue } from '@skreaver/contracts';
import type { z } from 'zod';

import type { RunLimits } from './agent-limits';
import type { AgentMemory } from './memory-store';
import type { HttpClient } from './network/guarded-http.client';
import type { AgentThread } from './thread/agent-thread';
import type { AgentTools } from './tools/run-toolbox';

/** What an agent reports while it runs: a step it takes, or a partial output before its result. */
export type AgentEmission = { type: 'step'; name: string; detail?: JsonValue } | { type: 'output'; output: JsonValue };

/** What an agent sees while it runs. */
export interface AgentContext<C> {
  readonly agentId: string;
  readonly runId: string;
  readonly tenantId: string;
  /** 1-based attempt of the run (a retried run runs again from the start). */
  readonly attempt: number;
  /** The kind's config, parsed with its schema (the shared `limits`, `tools` and `http` sections removed). */
  readonly config: C;
  /** Aborted when the run is cancelled or times out; pass it on to every wait and I/O call. */
  readonly signal: AbortSignal;
  /** The limits this attempt is held to. */
  readonly limits: RunLimits;
  /** The tools this agent may call; each call is logged as `tool.call` / `tool.result`. */
  readonly tools: AgentTools;
  /** This agent's memory. */
  readonly memory: AgentMemory;
  /** Outbound HTTP under the agent's network policy (SSRF protections included). */
  readonly http: HttpClient;
  /** The conversation of a thread run (`POST /threads/{id}/runs`): history and JSON state; absent otherwise. */
  readonly thread?: AgentThread;
  /**
   * Logs a step (`run.step`, counted against `max_steps`) or a partial output (`run.output`, counted against
   * `max_output_bytes`). Await it: it resolves once the event is in the run's log.
   * @throws AgentLimitError when the step or output exceeds the agent's limits.
   */
  emit(event: AgentEmission): Promise<void>;
}

/** An agent kind: its config schema and how it turns an input into a result. */
export interface AgentDefinition<C = unknown> {
  readonly kind: AgentKind;
  readonly description: string;
  readonly configSchema: z.ZodType<C>;
  /** Resolves with the result (JSON); throws to fail the attempt (`AgentFailure` for a coded, maybe final failure). */
  run(input: JsonValue, context: AgentContext<C>): Promise<JsonValue>;
}

/** Declares an agent kind (built-in or in a plugin); the identity function that gives the definition its types. */
export function defineAgent<C>(definition: AgentDefinition<C>): AgentDefinition<C> {
  return definition;
}
