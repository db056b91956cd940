import { randomBytes } from 'node:crypto';

import { TEST_REDIS_URL } from './test-env';
import { deleteKeys, testRedisClient } from './test-redis-client';

/** A Redis key prefix no other test file uses; `cleanup()` deletes every key under it. */
export interface IsolatedRedis {
  readonly url: string;
  readonly prefix: string;
  cleanup(): Promise<void>;
}

/** Reserves a unique key prefix on the test Redis (or the Redis at `url`, e.g. a `privateRedis()`) for one test file. */
export function isolatedRedis(label: string, url = TEST_REDIS_URL): IsolatedRedis {
  const prefix = `t-${label.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 24)}-${randomBytes(4).toString('hex')}`;
  return {
    url,
    prefix,
    async cleanup() {
      const redis = testRedisClient(url);
      try {
        // Run queue keys start with "{prefix}" (the hash tag), stream keys with "prefix:".
        for (const pattern of [`${prefix}:*`, `{${prefix}}*`]) await deleteKeys(redis, pattern);
      } finally {
        redis.disconnect();
      }
    },
  };
}
