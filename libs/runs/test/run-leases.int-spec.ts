import { isolatedRedis } from '@skreaver/testing';
import type { IsolatedRedis } from '@skreaver/testing';
import { createRedis, type RedisClient } from '@skreaver/messaging';

import { RunLeases } from '../src/execution/run-leases';

const LEASE_MS = 1_000;

// Direct mode's run leases against real Redis: one live holder per run, renewed while held, free once released or
// once their holder stops renewing (a process that died).
describe('RunLeases', () => {
  let isolation: IsolatedRedis;
  let redis: RedisClient;
  let mine: RunLeases;
  let theirs: RunLeases;

  beforeAll(() => {
    isolation = isolatedRedis('run-leases');
    redis = createRedis(isolation.url);
  });

  beforeEach(() => {
    mine = new RunLeases(redis, isolation.prefix, LEASE_MS);
    theirs = new RunLeases(redis, isolation.prefix, LEASE_MS);
  });

  afterEach(() => {
    mine.stopRenewing();
    theirs.stopRenewing();
  });

  afterAll(async () => {
    redis.disconnect();
    await isolation.cleanup();
  });

  const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('should give a run to one holder at a time and free it on release', async () => {
    await expect(mine.claim('run-a')).resolves.toBe(true);
    await expect(theirs.claim('run-a')).resolves.toBe(false);
    // Its holder may claim it again (a retry of the run it holds).
    await expect(mine.claim('run-a')).resolves.toBe(true);
    await expect(theirs.isHeld('run-a')).resolves.toBe(true);

    await theirs.release('run-a');
    await expect(mine.isHeld('run-a')).resolves.toBe(true);
    await mine.release('run-a');

    await expect(theirs.isHeld('run-a')).resolves.toBe(false);
    await expect(theirs.claim('run-a')).resolves.toBe(true);
    await theirs.release('run-a');
  });

  it('should keep a lease alive past its duration while renewing, and let it expire once renewal stops', async () => {
    await mine.claim('run-b');
    await later(LEASE_MS * 2);
    await expect(theirs.claim('run-b')).resolves.toBe(false);

    mine.stopRenewing();
    await later(LEASE_MS + 300);

    await expect(theirs.isHeld('run-b')).resolves.toBe(false);
    await expect(theirs.claim('run-b')).resolves.toBe(true);
    // The old holder's release no longer touches a lease another took over.
    await mine.release('run-b');
    await expect(theirs.isHeld('run-b')).resolves.toBe(true);
    await theirs.release('run-b');
  });
});
