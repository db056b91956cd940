import { Queues, RunJobV1 } from '@skreaver/contracts';
import { privateRedisCluster, waitFor } from '@skreaver/testing';
import type { PrivateRedisCluster } from '@skreaver/testing';
import { newId } from '@skreaver/util';
import { z } from 'zod';

import {
  AgentRunSlots,
  type RedisClient,
  RedisConnections,
  RedisHealth,
  createRedis,
  createTypedWorker,
  isCluster,
  scanKeys,
  subscribeToChannel,
  TypedQueue,
} from '../src';
import { closeAll } from './fixtures';

// What only a real cluster shows: keys spread over several masters (SCAN must visit each), a cluster client closed and
// reopened, pub/sub between clients attached to different nodes, BullMQ under its one hash tag, and /ready's view of
// cluster_state while a master is down. The other messaging tests run on a cluster with TEST_REDIS_URL=redis-cluster://…
describe('messaging on a Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let redis: RedisClient;
  const prefix = `cl-${newId().slice(0, 8)}`;

  beforeAll(async () => {
    cluster = await privateRedisCluster({ nodeTimeoutMs: 1_500 });
    redis = createRedis(cluster.url, { connectionName: 'cluster-test' });
  }, 60_000);

  afterAll(async () => {
    await closeAll(redis);
    await cluster?.cleanup();
  });

  it('should open a Cluster client for a redis-cluster:// URL', () => {
    expect(isCluster(redis)).toBe(true);
  });

  it('should find the admission slots of agents on every master', async () => {
    const slots = new AgentRunSlots(redis, prefix);
    const agents = Array.from({ length: 30 }, () => newId());
    for (const agentId of agents) await slots.admit(agentId, newId(), 1, 'queue');
    // 30 random hash tags over 3 masters: all on one master is a (1/3)^29 chance.
    const masters = isCluster(redis) ? redis.nodes('master') : [];
    const holding = await Promise.all(masters.map(async (node) => (await node.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 1000))[1].length));
    expect(holding.filter((count) => count > 0).length).toBeGreaterThan(1);

    const found: string[] = [];
    for await (const holder of slots.holders()) found.push(holder.agentId);
    expect(found.sort()).toEqual([...agents].sort());
    const keys: string[] = [];
    for await (const page of scanKeys(redis, `${prefix}:agent-slots:*`)) keys.push(...page);
    expect(keys).toHaveLength(30);
  });

  it('should deliver pub/sub between clients attached to different nodes, and stop and reopen blocking connections', async () => {
    const connections = new RedisConnections({ url: cluster.url, connectionName: 'cluster-test' });
    try {
      const subscriber = connections.blocking('subscriber');
      const received: string[] = [];
      const unsubscribe = await subscribeToChannel(subscriber, `${prefix}:channel`, z.object({ n: z.number() }), (message) =>
        received.push(String(message.n)),
      );
      for (let n = 0; n < 5; n += 1) await redis.publish(`${prefix}:channel`, JSON.stringify({ n }));
      await waitFor(() => received.length === 5, { what: 'five messages' });
      await unsubscribe();
    } finally {
      const started = Date.now();
      await connections.closeAll();
      // A closed cluster client settles on 'close', not 'end': closing must not wait out its timeout.
      expect(Date.now() - started).toBeLessThan(1_000);
    }
  });

  it('should run BullMQ jobs under the hash-tagged prefix', async () => {
    const queue = new TypedQueue(Queues.runs, { connection: redis, keyPrefix: prefix });
    const workerConnection = createRedis(cluster.url, { forBlocking: true, connectionName: 'cluster-test:worker' });
    const done: string[] = [];
    const worker = createTypedWorker(Queues.runs, { connection: workerConnection, keyPrefix: prefix }, async (payload: RunJobV1) => {
      done.push(payload.run_id);
    });
    try {
      const ids = Array.from({ length: 5 }, () => newId());
      for (const runId of ids) await queue.add({ run_id: runId, tenant_id: 'default', agent_id: newId() }, { jobId: runId });
      await waitFor(() => done.length === 5, { timeoutMs: 15_000, what: 'five jobs' });
      expect(done.sort()).toEqual([...ids].sort());
    } finally {
      await worker.close();
      await queue.close();
      await closeAll(workerConnection);
    }
  });

  it('should stay ready once a replica took over a lost master, and report cluster_state:fail when slots are lost', async () => {
    const health = new RedisHealth(redis);
    await expect(health.check()).resolves.toMatchObject({ latency_ms: expect.any(Number) });
    const victim = (await cluster.nodes()).find((node) => node.role === 'master');
    await cluster.kill(victim?.port ?? 0);
    await cluster.waitUntilHealthy(40_000);
    await waitFor(() => health.check().then(() => true, () => false), { timeoutMs: 10_000, what: 'readiness after the failover' });

    // The promoted replica has no replica of its own: killing it leaves its slots unserved, which no PING shows.
    const promoted = (await cluster.nodes()).find((node) => node.role === 'master' && node.slots.join() === victim?.slots.join());
    expect(promoted).toBeDefined();
    await cluster.kill(promoted?.port ?? 0);
    await waitFor(async () => health.check().then(() => false, (error: Error) => /cluster_state:fail/.test(error.message)), {
      timeoutMs: 15_000,
      what: 'cluster_state:fail in the readiness check',
    });
  }, 90_000);
});
