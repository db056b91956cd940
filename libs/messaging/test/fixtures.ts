import { type RunEventOf, runEventId } from '@skreaver/contracts';
import { newId, nowIso } from '@skreaver/util';
import type { RedisClient } from '../src';

/** A valid `run.queued` event of run `runId` at position `seq`. */
export function runQueuedEvent(seq = 1, runId = newId(), agentId = newId()): RunEventOf<'run.queued'> {
  return {
    id: runEventId(runId, seq),
    run_id: runId,
    agent_id: agentId,
    tenant_id: 'default',
    seq,
    ts: nowIso(),
    type: 'run.queued',
    data: { input: { n: seq } },
  };
}

/** Closes test connections whatever their state, so Jest exits without open handles. */
export async function closeAll(...connections: RedisClient[]): Promise<void> {
  await Promise.all(
    connections.map(async (redis) => {
      if (redis.status === 'end') return;
      await redis.quit().catch(() => redis.disconnect());
    }),
  );
}
