import { z } from 'zod';

import { AgentId, RunId, TenantId } from '../common';

/** Job payload of the run queue: the run row holds the rest. */
export const RunJobV1 = z.object({ run_id: RunId, agent_id: AgentId, tenant_id: TenantId });
export type RunJobV1 = z.infer<typeof RunJobV1>;
