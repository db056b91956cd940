import type { SubscribeRequestV1 } from '@skreaver/contracts';

/** Room of every socket that subscribed to an agent's events. */
export const agentRoom = (agentId: string): string => `agent:${agentId}`;

/** Room of every socket that subscribed to one run's events. */
export const runRoom = (runId: string): string => `run:${runId}`;

/** The room a subscribe request joins. */
export function roomFor(request: SubscribeRequestV1): string {
  return 'agent_id' in request ? agentRoom(request.agent_id) : runRoom(request.run_id);
}
