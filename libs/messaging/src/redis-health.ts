import { withTimeout } from '@skreaver/util';

import { type RedisClient, isCluster, pingRedis } from './redis-connection';

// A readiness probe must answer quickly even when Redis hangs; one second is far above a healthy PING.
const PING_TIMEOUT_MS = 1_000;

/** Readiness check of the shared Redis connection. */
export class RedisHealth {
  constructor(private readonly redis: RedisClient) {}

  /**
   * PINGs Redis and reports the round-trip time; on a cluster, also asks CLUSTER INFO whether every slot is served.
   * @throws Error when Redis does not answer within 1 s, or the cluster reports `cluster_state:fail`.
   */
  async check(): Promise<{ latency_ms: number }> {
    const latency = await pingRedis(this.redis, PING_TIMEOUT_MS);
    if (isCluster(this.redis)) {
      // A PING reaches one node; cluster_state is the cluster's own verdict (fail while a master is down and not yet
      // replaced: commands for its slots fail meanwhile).
      const info = await withTimeout(this.redis.cluster('INFO'), PING_TIMEOUT_MS, `Redis Cluster did not answer CLUSTER INFO within ${PING_TIMEOUT_MS} ms`);
      const state = /cluster_state:(\w+)/.exec(String(info))?.[1];
      if (state !== 'ok') throw new Error(`Redis Cluster reports cluster_state:${state ?? 'unknown'}`);
    }
    return { latency_ms: latency };
  }
}
