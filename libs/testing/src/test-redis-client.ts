import Redis, { Cluster } from 'ioredis';

/**
 * A client of the test Redis at `url`: a `redis-cluster://h:p,h:p` URL (the form `createRedis` of @skreaver/messaging
 * accepts, which this library cannot import: messaging's own tests use this one) gives a Cluster client, a
 * `redis-sentinel://h:p,h:p/<master>` URL a client of the primary the sentinels name.
 */
export function testRedisClient(url: string): Redis | Cluster {
  // redis-sentinel://h:p,h:p/<master> (no credentials: test setups have none): the primary the sentinels name.
  const sentinel = /^redis-sentinel:\/\/([^/?#@]+)\/([^/?#]+)/i.exec(url);
  if (sentinel) {
    const sentinels = (sentinel[1] ?? '').split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1] ?? 26379) }));
    return new Redis({ sentinels, name: sentinel[2], maxRetriesPerRequest: 1 });
  }
  const nodes = /^redis-cluster:\/\/([^/?#@]+)/i.exec(url)?.[1];
  if (nodes === undefined) return new Redis(url, { maxRetriesPerRequest: 1 });
  return new Cluster(
    nodes.split(',').map((node) => {
      const [host = '', port = '6379'] = node.split(':');
      return { host, port: Number(port) };
    }),
    { redisOptions: { maxRetriesPerRequest: 1 } },
  );
}

/** Deletes every key matching `pattern` (SCAN on every master of a cluster; one key per DEL there, slots differ). */
export async function deleteKeys(redis: Redis | Cluster, pattern: string): Promise<void> {
  // A cluster client knows its masters once it has loaded the slot map; the PING waits for that.
  await redis.ping();
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      if (redis instanceof Cluster) await Promise.all(keys.map((key) => redis.del(key)));
      else await redis.del(...keys);
    } while (cursor !== '0');
  }
}
