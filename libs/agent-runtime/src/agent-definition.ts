import type { AgentKind, JsonValue } from '@skreaver/contracts';
import type { z } from 'zod';

/** What an agent sees while it runs. */
export interface AgentContext<C> {
  readonly agentId: string;
  readonly runId: string;
  readonly tenantId: string;
  readonly attempt: number;
  readonly config: C;
  /** Aborted when the run is cancelled or times out; pass it on to every I/O call. */
  readonly signal: AbortSignal;
}

/** An agent kind: its config schema and how it turns an observation into a result. */
export interface AgentDefinition<C = unknown> {
  readonly kind: AgentKind;
  readonly description: string;
  readonly configSchema: z.ZodType<C>;
  run(input: JsonValue, context: AgentContext<C>): Promise<JsonValue>;
}

/** Declares an agent kind; the identity function that gives the definition its types. */
export function defineAgent<C>(definition: AgentDefinition<C>): AgentDefinition<C> {
  return definition;
}
