import type Redis from 'ioredis';

import { pingRedis } from './redis-connection';

// A readiness probe must answer quickly even when Redis hangs; one second is far above a healthy PING.
const PING_TIMEOUT_MS = 1_000;

/** Readiness check of the shared Redis connection. */
export class RedisHealth {
  constructor(private readonly redis: Redis) {}

  /**
   * PINGs Redis and reports the round-trip time.
   * @throws Error when Redis does not answer within 1 s.
   */
  async check(): Promise<{ latency_ms: number }> {
    return { latency_ms: await pingRedis(this.redis, PING_TIMEOUT_MS) };
  }
}
