import { isCluster, type RedisClient } from './redis-connection';
import type { z } from 'zod';

// One answer per client: every publisher and subscriber of a deployment must agree, and they do as long as every node
// of the cluster runs the same major version (asking a random node once is enough).
const shardedByClient = new WeakMap<RedisClient, Promise<boolean>>();

/**
 * Whether pub/sub on `redis` is sharded (`SPUBLISH`/`SSUBSCRIBE`): on a Redis Cluster of Redis 7 or later. A plain
 * `PUBLISH` on a cluster is forwarded over the cluster bus to every node, whoever listens; a sharded message goes to
 * the master of the channel's slot (and its replicas) only, and subscribers connect to that master. A single server
 * (or a Sentinel-managed one) keeps plain pub/sub: there is nothing to shard, and it works on every Redis version.
 */
export function usesShardedPubSub(redis: RedisClient): Promise<boolean> {
  if (!isCluster(redis)) return Promise.resolve(false);
  let answer = shardedByClient.get(redis);
  if (!answer) {
    answer = redis.info('server').then((info) => Number(/^redis_version:(\d+)/m.exec(info)?.[1] ?? 0) >= 7);
    shardedByClient.set(redis, answer);
    // A cluster that could not be asked (down at boot) is asked again next time instead of remembered as "no".
    answer.catch(() => shardedByClient.delete(redis));
  }
  return answer;
}

/**
 * Publishes `message` on `channel` (sharded on a Redis ≥ 7 cluster, see `usesShardedPubSub`) and resolves with the
 * number of subscribers that got it. On a cluster the channel is a key of its own slot for sharded pub/sub: publish
 * it on its own, never in a MULTI or script with other keys.
 */
export async function publishToChannel(redis: RedisClient, channel: string, message: string): Promise<number> {
  return Number((await usesShardedPubSub(redis)) ? await redis.spublish(channel, message) : await redis.publish(channel, message));
}

/**
 * Calls `onMessage` with every message on the pub/sub `channel` that matches `schema` (others are dropped: a sender
 * of another version must not crash a listener). `subscriber` must be a dedicated connection from `createRedis` (it
 * enters subscribe mode; ioredis subscribes again after a reconnect or, for sharded channels on a cluster, on the
 * replica promoted in a failover). Messages published while the subscriber is reconnecting are lost, as with any
 * pub/sub: senders keep a key that says the same (see `RunCancellation`, `TokenDenylist`). Returns a function that
 * unsubscribes.
 * @throws Error when `subscriber` is a cluster client opened without sharded subscribers (not by `createRedis`).
 */
export async function subscribeToChannel<S extends z.ZodType>(
  subscriber: RedisClient,
  channel: string,
  schema: S,
  onMessage: (message: z.infer<S>) => void,
): Promise<() => Promise<void>> {
  const sharded = await usesShardedPubSub(subscriber);
  if (sharded && isCluster(subscriber) && !subscriber.options.shardedSubscribers) {
    throw new Error('a Redis Cluster subscriber needs shardedSubscribers: open it with createRedis');
  }
  const handler = (received: string, raw: string) => {
    if (received !== channel) return;
    const parsed = schema.safeParse(parseJson(raw));
    if (parsed.success) onMessage(parsed.data);
  };
  const event = sharded ? 'smessage' : 'message';
  subscriber.on(event, handler);
  await (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel));
  return async () => {
    subscriber.off(event, handler);
    await (sharded ? subscriber.sunsubscribe(channel) : subscriber.unsubscribe(channel)).catch(() => undefined);
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
