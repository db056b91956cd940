import { z } from 'zod';

import { AgentId, RunId } from '../common';
import { Run, RunStatus } from './runs';

/** The opaque `next_cursor` of a run list page, passed back as `cursor` for the next (older) page. */
export const RunListCursor = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'a cursor from next_cursor');

/** Query of `GET /agents/{id}/runs`: page size and the cursor from the previous page. */
export const AgentRunsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: RunListCursor.optional(),
});
export type AgentRunsQuery = z.infer<typeof AgentRunsQuery>;

/**
 * Query of `GET /runs`: the tenant's runs, newest first. `status=failed` lists the dead letters (runs that failed
 * their last attempt); `dead` is accepted as a synonym.
 */
export const RunSearchQuery = z.strictObject({
  status: z
    .union([RunStatus, z.literal('dead')])
    .transform((status): RunStatus => (status === 'dead' ? 'failed' : status))
    .optional(),
  agent_id: AgentId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: RunListCursor.optional(),
});
export type RunSearchQuery = z.infer<typeof RunSearchQuery>;

/** Answer of `POST /runs/{id}/redrive`: the new run, linked to the failed one it re-submits. */
export const RedrivenRun = Run.extend({ redriven_from: RunId });
export type RedrivenRun = z.infer<typeof RedrivenRun>;
