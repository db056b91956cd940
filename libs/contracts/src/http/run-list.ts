import { z } from 'zod';

import { AgentId, RunId } from '../common';
import { Run, RunStatus } from './runs';

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
});
export type RunSearchQuery = z.infer<typeof RunSearchQuery>;

/** Answer of `POST /runs/{id}/redrive`: the new run, linked to the failed one it re-submits. */
export const RedrivenRun = Run.extend({ redriven_from: RunId });
export type RedrivenRun = z.infer<typeof RedrivenRun>;
