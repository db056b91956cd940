import { z } from 'zod';

import { AgentId, JsonValue, TenantId, Timestamp } from '../common';

/** Agent kinds this release can run. */
export const AgentKind = z.enum(['echo']);
export type AgentKind = z.infer<typeof AgentKind>;

export const AgentStatus = z.enum(['idle', 'running', 'error']);
export type AgentStatus = z.infer<typeof AgentStatus>;

export const AgentName = z.string().trim().min(1).max(128);

/** Body of `POST /agents`. */
export const CreateAgentRequest = z.strictObject({
  name: AgentName,
  kind: AgentKind,
  config: z.record(z.string(), JsonValue).default({}),
});
export type CreateAgentRequest = z.infer<typeof CreateAgentRequest>;

/** An agent as the API returns it. */
export const Agent = z.object({
  id: AgentId,
  tenant_id: TenantId,
  name: z.string(),
  kind: AgentKind,
  config: z.record(z.string(), JsonValue),
  status: AgentStatus,
  created_at: Timestamp,
  updated_at: Timestamp,
  last_activity: Timestamp.nullable(),
});
export type Agent = z.infer<typeof Agent>;

/** Path parameters of `/agents/{id}/…`. */
export const AgentIdParams = z.object({ id: AgentId });
export type AgentIdParams = z.infer<typeof AgentIdParams>;

export const AgentList = z.object({ items: z.array(Agent) });
export type AgentList = z.infer<typeof AgentList>;
