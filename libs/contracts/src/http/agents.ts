import { z } from 'zod';

import { AgentId, JsonValue, TenantId, Timestamp } from '../common';

/**
 * An agent kind's name: a built-in (`echo`, `tool`, `llm`, `webhook`) or one a plugin defines. The shape is checked
 * here; whether the kind is installed is the agent registry's call (agent-api answers 400 for an unknown one).
 */
export const AgentKind = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a kind name: a lowercase letter, then up to 63 of a-z 0-9 _ -');
export type AgentKind = z.infer<typeof AgentKind>;

export const AgentStatus = z.enum(['idle', 'running', 'error']);
export type AgentStatus = z.infer<typeof AgentStatus>;

export const AgentName = z.string().trim().min(1).max(128);

/**
 * What a new run does while the agent is busy: `enqueue` waits its turn (arrival order), `reject` is refused with
 * 409 `agent_busy`, `interrupt` cancels the running one(s) and starts, `parallel` runs up to `max_concurrency` at once.
 */
export const ConcurrencyPolicy = z.enum(['enqueue', 'reject', 'interrupt', 'parallel']);
export type ConcurrencyPolicy = z.infer<typeof ConcurrencyPolicy>;

export const AgentConcurrency = z
  .strictObject({
    policy: ConcurrencyPolicy.default('enqueue'),
    /** Runs at once; only `parallel` may exceed 1. */
    max_concurrency: z.number().int().min(1).max(1_000).default(1),
  })
  .refine((c) => c.policy === 'parallel' || c.max_concurrency === 1, {
    message: 'max_concurrency above 1 needs policy "parallel"',
    path: ['max_concurrency'],
  });
export type AgentConcurrency = z.infer<typeof AgentConcurrency>;

export const DEFAULT_CONCURRENCY: AgentConcurrency = { policy: 'enqueue', max_concurrency: 1 };

/** Body of `POST /agents`. */
export const CreateAgentRequest = z.strictObject({
  name: AgentName,
  kind: AgentKind,
  config: z.record(z.string(), JsonValue).default({}),
  concurrency: AgentConcurrency.default(DEFAULT_CONCURRENCY),
});
export type CreateAgentRequest = z.infer<typeof CreateAgentRequest>;

/** An agent as the API returns it. */
export const Agent = z.object({
  id: AgentId,
  tenant_id: TenantId,
  name: z.string(),
  kind: AgentKind,
  config: z.record(z.string(), JsonValue),
  concurrency: AgentConcurrency,
  status: AgentStatus,
  created_at: Timestamp,
  updated_at: Timestamp,
  last_activity: Timestamp.nullable(),
});
export type Agent = z.infer<typeof Agent>;

/** Path parameters of `/agents/{id}/…`. */
export const AgentIdParams = z.object({ id: AgentId });
export type AgentIdParams = z.infer<typeof AgentIdParams>;

/** Part of a concurrency policy to change; merged with the agent's current one, then checked as a whole. */
export const AgentConcurrencyPatch = z.strictObject({
  policy: ConcurrencyPolicy.optional(),
  max_concurrency: z.number().int().min(1).max(1_000).optional(),
});
export type AgentConcurrencyPatch = z.infer<typeof AgentConcurrencyPatch>;

/** Body of `PATCH /agents/{id}`: any of these; `config` replaces the whole config. */
export const UpdateAgentRequest = z
  .strictObject({ name: AgentName.optional(), config: z.record(z.string(), JsonValue).optional(), concurrency: AgentConcurrencyPatch.optional() })
  .refine((body) => Object.values(body).some((value) => value !== undefined), { message: 'nothing to update' });
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

/** Query of `GET /agents`: filters, page size and the opaque cursor from the previous page. */
export const ListAgentsQuery = z.strictObject({
  kind: AgentKind.optional(),
  status: AgentStatus.optional(),
  /** Case-sensitive substring of the name. */
  name: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'a cursor from next_cursor').optional(),
});
export type ListAgentsQuery = z.infer<typeof ListAgentsQuery>;

export const AgentList = z.object({ items: z.array(Agent), next_cursor: z.string().nullable() });
export type AgentList = z.infer<typeof AgentList>;

/** `GET /agents/{id}/status`: what the agent is doing and how much work waits for it. */
export const AgentStatusReport = z.object({
  agent_id: AgentId,
  kind: AgentKind,
  status: AgentStatus,
  created_at: Timestamp,
  last_activity: Timestamp.nullable(),
  /** Runs waiting for the agent (its concurrency policy holds them back). */
  queue_depth: z.number().int().nonnegative(),
  /** Runs admitted and executing or about to. */
  active_runs: z.number().int().nonnegative(),
  concurrency: AgentConcurrency,
});
export type AgentStatusReport = z.infer<typeof AgentStatusReport>;
