import { defineQueue, type RunEventOf, runEventId, RunJobV1 } from '@skreaver/contracts';
import { privateRedis, waitFor } from '@skreaver/testing';
import { newId, nowIso } from '@skreaver/util';

import { createRedis } from '../src';
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

/**
 * Starts the reader `make` builds on a blocking connection to a private Redis, stops that Redis, waits until the
 * connection waits to reconnect (its read queued for resending), then stops the reader: resolves 'stopped', or
 * 'still stopping after 5 s' when stop() waited for a read that never settles. The connection goes to `connections`.
 */
export async function stopWhileRedisIsDown(
  make: (redis: RedisClient) => { start(): Promise<void>; stop(): Promise<void> },
  connections: RedisClient[],
): Promise<string> {
  const down = await privateRedis();
  try {
    const connection = createRedis(down.url, { connectionName: 'messaging-reader-down', forBlocking: true });
    connections.push(connection);
    const reader = make(connection);
    await reader.start();
    await down.stop();
    await waitFor(() => connection.status === 'reconnecting', { what: 'the connection waiting to reconnect' });
    return await Promise.race([reader.stop().then(() => 'stopped'), new Promise<string>((resolve) => setTimeout(resolve, 5_000, 'still stopping after 5 s'))]);
  } finally {
    await down.cleanup();
  }
}

/** A run job of fresh ids. */
export function runJob(): RunJobV1 {
  return { run_id: newId(), agent_id: newId(), tenant_id: 'default' };
}

/** A queue of its own per test (same contract as `Queues.runs`), under the test file's key prefix. */
export function runsQueueDef(test: number) {
  return defineQueue({ name: `runs-${test}`, version: 1, schema: RunJobV1 });
}
export type RunsQueue = ReturnType<typeof runsQueueDef>;
