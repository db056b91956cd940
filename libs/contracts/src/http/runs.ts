import { z } from 'zod';

import { AgentId, JsonValue, RunId, TenantId, Timestamp } from '../common';
import { RunEventV1 } from '../events/run-event.v1';

export const RunStatus = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

/** Statuses after which a run never changes again. */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

/** Where a run came from. */
export const RunSource = z.enum(['api', 'mesh', 'schedule']);
export type RunSource = z.infer<typeof RunSource>;

/** Body of `POST /agents/{id}/runs`. */
export const CreateRunRequest = z.strictObject({ input: JsonValue });
export type CreateRunRequest = z.infer<typeof CreateRunRequest>;

export const RunError = z.object({ code: z.string(), message: z.string() });
export type RunError = z.infer<typeof RunError>;

/** A run as the API returns it. */
export const Run = z.object({
  id: RunId,
  tenant_id: TenantId,
  agent_id: AgentId,
  status: RunStatus,
  source: RunSource,
  input: JsonValue,
  output: JsonValue.nullable(),
  error: RunError.nullable(),
  attempts: z.number().int().nonnegative(),
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
});
export type Run = z.infer<typeof Run>;

export const RunIdParams = z.object({ id: RunId });
export type RunIdParams = z.infer<typeof RunIdParams>;

export const RunList = z.object({ items: z.array(Run) });
export type RunList = z.infer<typeof RunList>;

/** Query of `GET /runs/{id}/events`: events strictly after `after` (an event id), at most `limit`. */
export const RunEventsQuery = z.strictObject({
  after: z.string().regex(/^[0-9a-f-]{36}:\d+$/, 'an event id').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type RunEventsQuery = z.infer<typeof RunEventsQuery>;

/** A page of a run's event log, oldest first. */
export const RunEventsPage = z.object({
  items: z.array(RunEventV1),
  next_after: z.string().nullable(),
});
export type RunEventsPage = z.infer<typeof RunEventsPage>;
