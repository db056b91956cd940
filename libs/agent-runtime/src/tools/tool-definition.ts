import type { JsonValue } from '@skreaver/contracts';
import type { z } from 'zod';

import type { AgentMemory } from '../memory-store';
import type { HttpClient } from '../network/guarded-http.client';
import type { HumanInput } from '../input/human-input';
import type { MeshClient } from './mesh-client';

/** What a tool sees while it runs: the run it serves and the resources it may use. */
export interface ToolContext {
  readonly tenantId: string;
  readonly agentId: string;
  readonly runId: string;
  /** Aborted when the run is cancelled or times out; pass it to every wait and I/O call. */
  readonly signal: AbortSignal;
  readonly memory: AgentMemory;
  /** Outbound HTTP under the agent's network policy. */
  readonly http: HttpClient;
  /** The agent mesh (`mesh_send`, `mesh_request`); absent where no mesh runs (the tools then fail `mesh_unavailable`). */
  readonly mesh?: MeshClient;
  /** The run's requests for human input (`request_input`); absent where a run cannot wait (the tool then fails). */
  readonly input?: HumanInput;
  /**
   * `<run_id>:<ordinal>`: this call's place in the run's journal, the same on every attempt that executes it (a
   * call interrupted before its result was journaled runs again): a key for the receiver to de-duplicate on.
   */
  readonly idempotencyKey?: string;
}

/** A tool: its name, what it does, the schema its input must satisfy, and the work. */
export interface ToolDefinition<I = unknown> {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: z.ZodType<I>;
  /** Resolves with the result; throws `ToolError` (or anything) to fail, which the caller gets as a failed result. */
  run(input: I, context: ToolContext): Promise<JsonValue>;
  /**
   * The input as the run's log should show it, for what the shared policy (`redactSecrets`: secret-named keys,
   * header values, URL credentials) cannot recognise, e.g. a credential in a body; that policy applies on top.
   */
  redact?(input: I): JsonValue;
}

/** Declares a tool; the identity function that gives the definition its types. */
export function defineTool<I>(definition: ToolDefinition<I>): ToolDefinition<I> {
  return definition;
}

/** A tool failure with a stable code; `retryable` says whether running the same call later could succeed. */
export class ToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** What a tool call gives the agent: never a throw (except when the run itself must stop). */
export type ToolResult = { ok: true; result: JsonValue } | { ok: false; error: { code: string; message: string; retryable: boolean } };
