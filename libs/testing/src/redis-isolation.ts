import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';

import { TEST_REDIS_URL } from './test-env';

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
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        // BullMQ keys start with "{prefix}" (the hash tag), stream keys with "prefix:".
        for (const pattern of [`${prefix}:*`, `{${prefix}}*`]) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
            cursor = next;
            if (keys.length) await redis.del(...keys);
          } while (cursor !== '0');
        }
      } finally {
        redis.disconnect();
      }
    },
  };
}
