import type { AgentKind, JsonValue } from '@skreaver/contracts';
import { z } from 'zod';

import type { AgentContext, AgentDefinition } from './agent-definition';
import { echoAgent } from './kinds/echo.agent';

/** Raised when an agent's stored config no longer satisfies its kind's schema. */
export class AgentConfigError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

export interface RunRequest {
  agentId: string;
  runId: string;
  tenantId: string;
  attempt: number;
  kind: AgentKind;
  config: unknown;
  input: JsonValue;
  signal: AbortSignal;
}

/** The agent kinds a process can run, by kind name. */
export class AgentRegistry {
  private readonly kinds = new Map<string, AgentDefinition<unknown>>();

  constructor(definitions: readonly AgentDefinition<unknown>[] = [echoAgent]) {
    for (const definition of definitions) this.kinds.set(definition.kind, definition);
  }

  has(kind: string): boolean {
    return this.kinds.has(kind);
  }

  /** Checks `config` against the kind's schema (agent-api does, so a bad config fails at creation, not at run time). */
  validateConfig(kind: string, config: unknown): { success: true } | { success: false; error: z.ZodError } {
    const definition = this.kinds.get(kind);
    if (!definition) {
      return { success: false, error: new z.ZodError([{ code: 'custom', path: [], message: `no agent kind "${kind}" is installed`, input: kind }]) };
    }
    const result = definition.configSchema.safeParse(config);
    return result.success ? { success: true } : { success: false, error: result.error };
  }

  /** Runs one attempt of `request` with its kind's validated config. */
  async run(request: RunRequest): Promise<JsonValue> {
    const definition = this.kinds.get(request.kind);
    if (!definition) throw new AgentConfigError(request.kind, `no agent kind "${request.kind}" is installed`);
    const config = definition.configSchema.safeParse(request.config);
    if (!config.success) throw new AgentConfigError(request.kind, `invalid ${request.kind} config: ${config.error.message}`);
    const context: AgentContext<unknown> = {
      agentId: request.agentId,
      runId: request.runId,
      tenantId: request.tenantId,
      attempt: request.attempt,
      config: config.data,
      signal: request.signal,
    };
    return definition.run(request.input, context);
  }
}
