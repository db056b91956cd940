import type { AgentKind, JsonValue } from '@skreaver/contracts';
import type { z } from 'zod';

import type { RunLimits } from './agent-limits';
import type { InputRequest } from './input/human-input';
import type { StepOptions } from './journal/journaled-step';
import type { AgentMemory } from './memory-store';
import type { HttpClient } from './network/guarded-http.client';
import type { AgentThread } from './thread/agent-thread';
import type { AgentTools } from './tools/run-toolbox';

/**
 * What an agent reports while it runs: a step it takes, a partial output before its result, a piece of text it is
 * producing (`delta`: coalesced into `message.delta` events), or a model call it made (`model_call`: its duration
 * and tokens go to the run's `usage` and to metrics; nothing is logged).
 */
export type AgentEmission =
  | { type: 'step'; name: string; detail?: JsonValue }
  | { type: 'output'; output: JsonValue }
  | { type: 'delta'; text: string }
  | ModelCallEmission;

/** A model call an agent made: how long it took, whether it answered, and the tokens it used when reported. */
export interface ModelCallEmission {
  type: 'model_call';
  duration_ms: number;
  ok: boolean;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

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
   * `max_output_bytes`). Await it: it resolves once the event is in the run's log. A `delta` resolves once the text
   * is buffered (it is logged within 50 ms, and before anything logged after it); a `model_call` at once.
   * @throws AgentLimitError when the step or output exceeds the agent's limits.
   */
  emit(event: AgentEmission): Promise<void>;
  /**
   * Asks a person for input and resolves with their answer (valid against `request.schema`). The run does not block
   * meanwhile: the call throws `InputRequired`, which suspends the run (`waiting_input`, its worker slot given back);
   * once `POST /runs/{id}/resume` answers, the run runs again from the start and this call resolves with the answer.
   * Let that signal through (do not catch it), and put side effects before the call in tools or `context.step` so the
   * replay does not repeat them. Requests are numbered in order (`input_1`, `input_2`…): make them in the same order.
   */
  waitForInput(request: InputRequest): Promise<JsonValue>;
  /**
   * A durable step: runs `fn` and journals its result before returning it; when the run is retried or re-driven
   * after a crash, the agent runs again from the start and this step (the same name at the same place among the
   * run's journaled steps) returns the recorded result without calling `fn`. Use it for every side effect or
   * nondeterministic value that is not a tool call (tool calls are journaled already). A throw is not journaled.
   * @throws AgentFailure `nondeterministic_replay` (permanent) when the run's journal holds another step here.
   */
  step<T extends JsonValue>(name: string, fn: () => Promise<T>, options?: StepOptions): Promise<T>;
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
