import { ToolName, TopicName } from '@skreaver/contracts';
import { z } from 'zod';

import type { AgentDefinition } from './agent-definition';
import { AgentConfigError } from './agent-errors';
import { AgentLimits } from './agent-limits';
import { builtInAgents } from './built-in-agents';
import { ToolApprovalConfig } from './input/tool-approval';

const DomainName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?[a-z0-9.-]+$/i, 'a domain name such as example.com (subdomains included)');

/**
 * Sections any agent config may hold, whatever its kind; the runtime applies them and the kind never sees them:
 * `limits` (see `AgentLimits`), `tools` (the tools the agent may call; all when absent) and `http` (domain lists that
 * narrow the operator's network policy for this agent) and `subscriptions` (mesh topics whose messages become runs of
 * this agent) and `approval` (tools a person must approve before each call: the run waits for the decision).
 */
export const SharedAgentConfig = z.object({
  limits: AgentLimits.optional(),
  tools: z.array(ToolName).max(100).optional(),
  http: z
    .strictObject({ allow_domains: z.array(DomainName).max(100).optional(), deny_domains: z.array(DomainName).max(100).optional() })
    .optional(),
  subscriptions: z.array(TopicName).max(100).optional(),
  approval: ToolApprovalConfig.optional(),
});
export type SharedAgentConfig = z.infer<typeof SharedAgentConfig>;

const SHARED_KEYS = Object.keys(SharedAgentConfig.shape);

/** An agent kind with the agent's config checked and split into the kind's part and the shared sections. */
export interface ResolvedAgent {
  definition: AgentDefinition<unknown>;
  config: unknown;
  shared: SharedAgentConfig;
}

/** The agent kinds a process can run, by kind name. */
export class AgentRegistry {
  private readonly definitions = new Map<string, AgentDefinition<unknown>>();

  /** @throws Error when two definitions share a kind (a plugin may not replace a built-in kind). */
  constructor(definitions: readonly AgentDefinition<unknown>[] = builtInAgents()) {
    for (const definition of definitions) {
      if (this.definitions.has(definition.kind)) throw new Error(`agent kind "${definition.kind}" is defined twice`);
      this.definitions.set(definition.kind, definition);
    }
  }

  has(kind: string): boolean {
    return this.definitions.has(kind);
  }

  /** Installed kind names, in order. */
  kinds(): string[] {
    return [...this.definitions.keys()].sort();
  }

  /** Checks `config` against the kind's schema and the shared sections (agent-api does, so a bad config fails at creation). */
  validateConfig(kind: string, config: unknown): { success: true } | { success: false; error: z.ZodError } {
    const checked = this.check(kind, config);
    return checked.success ? { success: true } : checked;
  }

  /**
   * The kind's definition with the agent's parsed config.
   * @throws AgentConfigError when the kind is not installed or the config does not satisfy it.
   */
  resolve(kind: string, config: unknown): ResolvedAgent {
    const checked = this.check(kind, config);
    if (checked.success) return checked.resolved;
    if (!this.definitions.has(kind)) throw new AgentConfigError(kind, this.notInstalled(kind));
    throw new AgentConfigError(kind, `invalid ${kind} config: ${checked.error.message}`);
  }

  private check(kind: string, config: unknown): { success: true; resolved: ResolvedAgent } | { success: false; error: z.ZodError } {
    const definition = this.definitions.get(kind);
    if (!definition) {
      return { success: false, error: new z.ZodError([{ code: 'custom', path: [], message: this.notInstalled(kind), input: kind }]) };
    }
    const { own, shared } = splitConfig(config);
    const sharedResult = SharedAgentConfig.safeParse(shared);
    const ownResult = definition.configSchema.safeParse(own);
    const issues = [...(sharedResult.success ? [] : sharedResult.error.issues), ...(ownResult.success ? [] : ownResult.error.issues)];
    if (!sharedResult.success || !ownResult.success) return { success: false, error: new z.ZodError(issues) };
    return { success: true, resolved: { definition, config: ownResult.data, shared: sharedResult.data } };
  }

  private notInstalled(kind: string): string {
    return `no agent kind "${kind}" is installed (installed: ${this.kinds().join(', ')})`;
  }
}

/** The shared sections of an object config, and the rest for the kind; a non-object goes to the kind whole. */
function splitConfig(config: unknown): { own: unknown; shared: Record<string, unknown> } {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return { own: config, shared: {} };
  const own: Record<string, unknown> = {};
  const shared: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) (SHARED_KEYS.includes(key) ? shared : own)[key] = value;
  return { own, shared };
}
