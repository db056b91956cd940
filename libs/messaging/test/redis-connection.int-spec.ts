import { isolatedRedis, privateRedis, waitFor } from '@skreaver/testing';

import { createRedis, pingRedis } from '../src';
import { closeAll } from './fixtures';

const isolated = isolatedRedis('messaging-connection');
// Nothing listens on port 1, so connecting is refused at once: "Redis is down".
const DOWN_URL = 'redis://127.0.0.1:1';

describe(createRedis.name, () => {
  afterAll(() => isolated.cleanup());

  it('should connect and name the connection', async () => {
    const redis = createRedis(isolated.url, { connectionName: 'messaging-connection-test' });
    try {
      expect(await redis.client('GETNAME')).toBe('messaging-connection-test');
      expect(await pingRedis(redis, 1_000)).toBeGreaterThanOrEqual(0);
    } finally {
      await closeAll(redis);
    }
  });

  it('should fail a command quickly and keep reconnecting when Redis is down', async () => {
    const errors: Error[] = [];
    const redis = createRedis(DOWN_URL, { onError: (error) => errors.push(error) });
    try {
      const started = Date.now();
      await expect(redis.get('any')).rejects.toThrow(/max retries per request/i);
      expect(Date.now() - started).toBeLessThan(2_000);
      await expect(pingRedis(redis, 500)).rejects.toThrow();
      expect(errors.length).toBeGreaterThan(0);
      await waitFor(() => redis.status === 'reconnecting', { what: 'a reconnect attempt' });
    } finally {
      redis.disconnect();
    }
  });

  it('should fail commands at once while Redis stays down, and queue them again once it is back', async () => {
    const server = await privateRedis();
    const redis = createRedis(server.url);
    let attempts = 0;
    redis.on('reconnecting', () => (attempts += 1));
    try {
      expect(await redis.ping()).toBe('PONG');
      await server.kill();
      await waitFor(() => attempts >= 2, { what: 'two failed reconnect attempts' });
      // Not after the next flush of the offline queue (up to two 2 s backoffs away): now.
      const started = performance.now();
      await expect(redis.get('any')).rejects.toThrow(/isn't writeable/);
      expect(performance.now() - started).toBeLessThan(100);

      await server.start();
      await waitFor(() => redis.status === 'ready', { timeoutMs: 5_000, what: 'the reconnect' });
      expect(redis.options.enableOfflineQueue).toBe(true);
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
      await server.cleanup();
    }
  });

  it('should make a blocking connection wait for Redis instead of failing', async () => {
    const redis = createRedis(DOWN_URL, { forBlocking: true });
    try {
      const outcome = await Promise.race([
        redis.get('any').then(
          () => 'answered',
          () => 'failed',
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 700)),
      ]);
      expect(outcome).toBe('still waiting');
    } finally {
      redis.disconnect();
    }
  });

  it('should reconnect after its connection is killed', async () => {
    const redis = createRedis(isolated.url);
    const admin = createRedis(isolated.url);
    try {
      const id = await redis.client('ID');
      await admin.client('KILL', 'ID', String(id));
      await waitFor(async () => (await redis.client('ID')) !== id, { what: 'a new connection' });
    } finally {
      await closeAll(redis, admin);
    }
  });
});

describe(pingRedis.name, () => {
  it('should time out when Redis does not answer', async () => {
    const redis = createRedis(isolated.url, { forBlocking: true });
    try {
      // A blocked connection answers nothing else until the block ends.
      const blocked = redis.blpop(`${isolated.prefix}:never`, 1);
      await expect(pingRedis(redis, 100)).rejects.toThrow(/did not answer PING within 100 ms/);
      await blocked;
    } finally {
      await closeAll(redis);
    }
  });
});
