import { z } from 'zod';

/** Per-agent limits (agent config `limits`); each one left out takes the coordinator's default. */
export const AgentLimits = z.strictObject({
  /** Whole attempt, wall clock. */
  timeout_ms: z.number().int().min(1).max(86_400_000).optional(),
  /** Steps one attempt may take (model calls, tool steps, webhook deliveries, plugin steps). */
  max_steps: z.number().int().min(1).max(10_000).optional(),
  /** Tool calls one attempt may make. */
  max_tool_calls: z.number().int().min(0).max(10_000).optional(),
  /** UTF-8 bytes of the result's JSON; partial outputs together may not exceed it either. */
  max_output_bytes: z.number().int().min(1).max(64 * 1024 * 1024).optional(),
});
export type AgentLimits = z.infer<typeof AgentLimits>;

/** The limits one run attempt is held to. */
export interface RunLimits {
  readonly timeoutMs: number;
  readonly maxSteps: number;
  readonly maxToolCalls: number;
  readonly maxOutputBytes: number;
}

/** Defaults when neither the agent nor the coordinator's config say otherwise. */
export const DEFAULT_RUN_LIMITS: RunLimits = Object.freeze({
  timeoutMs: 300_000,
  maxSteps: 50,
  maxToolCalls: 100,
  maxOutputBytes: 1024 * 1024,
});

/** The agent's limits over the defaults. */
export function effectiveLimits(defaults: RunLimits, agent: AgentLimits | undefined): RunLimits {
  return {
    timeoutMs: agent?.timeout_ms ?? defaults.timeoutMs,
    maxSteps: agent?.max_steps ?? defaults.maxSteps,
    maxToolCalls: agent?.max_tool_calls ?? defaults.maxToolCalls,
    maxOutputBytes: agent?.max_output_bytes ?? defaults.maxOutputBytes,
  };
}
