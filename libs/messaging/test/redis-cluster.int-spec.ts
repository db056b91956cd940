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
  publishToChannel,
  scanKeys,
  subscribeToChannel,
  StreamQueue,
  StreamQueueWorker,
  TypedQueue,
  usesShardedPubSub,
} from '../src';
import { closeAll } from './fixtures';

// What only a real cluster shows: keys spread over several masters (SCAN must visit each), a cluster client closed and
// reopened, sharded pub/sub on the master of the channel's slot (and on its replica once promoted), BullMQ under its
// one hash tag, and /ready's view of cluster_state while a master is down. The other messaging tests run on a cluster with TEST_REDIS_URL=redis-cluster://…
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

  it('should deliver sharded pub/sub through the master of the channel, and stop and reopen blocking connections', async () => {
    const connections = new RedisConnections({ url: cluster.url, connectionName: 'cluster-test' });
    const channel = `${prefix}:channel`;
    try {
      const subscriber = connections.blocking('subscriber');
      const received: string[] = [];
      const unsubscribe = await subscribeToChannel(subscriber, channel, z.object({ n: z.number() }), (message) => received.push(String(message.n)));
      expect(await usesShardedPubSub(redis)).toBe(true);
      // Subscribed on the master serving the channel's slot, as a shard channel: no plain SUBSCRIBE anywhere.
      const masters = isCluster(redis) ? redis.nodes('master') : [];
      const subscribedOn = async (subcommand: 'SHARDNUMSUB' | 'NUMSUB') => {
        const counts = await Promise.all(masters.map(async (node) => ((await node.call('PUBSUB', subcommand, channel)) as [string, number])[1]));
        return masters.filter((_, i) => (counts[i] ?? 0) > 0).map((node) => node.options.port);
      };
      expect(await subscribedOn('SHARDNUMSUB')).toEqual([await cluster.masterOf(channel)]);
      expect(await subscribedOn('NUMSUB')).toEqual([]);

      for (let n = 0; n < 5; n += 1) expect(await publishToChannel(redis, channel, JSON.stringify({ n }))).toBe(1);
      await waitFor(() => received.length === 5, { what: 'five messages' });
      expect(received).toEqual(['0', '1', '2', '3', '4']);
      await unsubscribe();
      expect(await publishToChannel(redis, channel, JSON.stringify({ n: 5 }))).toBe(0);
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

  it('should run stream queue jobs under the hash-tagged prefix: add, retry, finish and requeue, all on one slot', async () => {
    const queue = new StreamQueue(Queues.runs, { connection: redis, keyPrefix: prefix });
    const blockingConnection = createRedis(cluster.url, { forBlocking: true, connectionName: 'cluster-test:stream-worker' });
    const attempts = new Map<string, number>();
    const worker = new StreamQueueWorker(
      Queues.runs,
      { blockingConnection, connection: redis, keyPrefix: prefix, backoffMs: 10, blockMs: 200, retention: { completed: { count: 3, ageSeconds: 60 }, failed: { count: 3, ageSeconds: 60 } } },
      async (payload: RunJobV1) => {
        const made = (attempts.get(payload.run_id) ?? 0) + 1;
        attempts.set(payload.run_id, made);
        // Every job fails once: the retry goes through the delayed set and back into the stream.
        if (made === 1) throw new Error('first attempt fails');
      },
    );
    worker.start();
    try {
      const ids = Array.from({ length: 5 }, () => newId());
      await queue.addBulk(ids.map((runId) => ({ payload: { run_id: runId, tenant_id: 'default', agent_id: newId() }, options: { jobId: runId } })));
      // Until nothing is waiting, running or delayed: three completed jobs kept is reached while the last two may still
      // be between their failed first attempt and the retry.
      const drained = async () => {
        const counts = await queue.counts();
        return counts.waiting + counts.active + counts.delayed === 0 && counts.completed === 3 && attempts.size === 5;
      };
      await waitFor(drained, { timeoutMs: 15_000, what: 'five jobs, three kept' });
      expect([...attempts.values()]).toEqual([2, 2, 2, 2, 2]);
      const last = ids.at(-1) ?? '';
      expect(await queue.requeue(last, { run_id: last, tenant_id: 'default', agent_id: newId() }, { attempts: 1 })).toBe(true);
      await waitFor(() => attempts.get(last) === 3, { timeoutMs: 15_000, what: 'the requeued job' });
    } finally {
      await worker.close();
      await closeAll(blockingConnection);
    }
  });

  it('should stay ready and keep sharded subscriptions once a replica took over a lost master, and report cluster_state:fail when slots are lost', async () => {
    const health = new RedisHealth(redis);
    await expect(health.check()).resolves.toMatchObject({ latency_ms: expect.any(Number) });
    // The master to kill serves a subscribed channel: ioredis must subscribe again on the promoted replica.
    const channel = `${prefix}:failover-channel`;
    const connections = new RedisConnections({ url: cluster.url, connectionName: 'cluster-test' });
    const received: number[] = [];
    const victimPort = await cluster.masterOf(channel);
    const victim = (await cluster.nodes()).find((node) => node.port === victimPort);
    expect(victim).toBeDefined();
    try {
      await subscribeToChannel(connections.blocking('subscriber'), channel, z.object({ n: z.number() }), (message) => received.push(message.n));
      await cluster.kill(victimPort ?? 0);
      await cluster.waitUntilHealthy(40_000);
      await waitFor(() => health.check().then(() => true, () => false), { timeoutMs: 10_000, what: 'readiness after the failover' });
      // Messages published while the subscription moves are lost (pub/sub is at most once): publish until one arrives.
      let sent = 0;
      await waitFor(
        async () => {
          await publishToChannel(redis, channel, JSON.stringify({ n: ++sent }));
          return received.length > 0;
        },
        { timeoutMs: 15_000, intervalMs: 200, what: 'a message through the promoted replica' },
      );
      expect(await cluster.masterOf(channel)).not.toBe(victimPort);
    } finally {
      // Closed before the next kill: a subscriber left on a dead node retries for up to 2 s after being closed.
      await connections.closeAll();
    }

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
