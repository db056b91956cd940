import { createHash } from 'node:crypto';

import type { RedisClient } from './redis-connection';

/**
 * A Lua script sent by its SHA1 (EVALSHA), and in full (EVAL) only when the server does not know it yet (NOSCRIPT:
 * a restarted or failed-over server, another cluster node). EVAL with the body every time writes the whole script on
 * the socket per call and has Redis hash it again.
 */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
