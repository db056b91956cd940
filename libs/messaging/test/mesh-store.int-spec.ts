import { isolatedRedis } from '@skreaver/testing';

import { MeshStore, createRedis } from '../src';
import { closeAll } from './fixtures';

const isolated = isolatedRedis('messaging-mesh-store');
const RUN = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';
const AGENT = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';

describe(MeshStore.name, () => {
  const redis = createRedis(isolated.url, { connectionName: 'messaging-mesh-store-test' });
  const sut = new MeshStore(redis, isolated.prefix);

  afterAll(async () => {
    await closeAll(redis);
    await isolated.cleanup();
  });

  it('should claim a message id for its first entry only, redeliveries of that entry included', async () => {
    expect(await sut.claimMessage('t1', 'm-1', '1-0', 60)).toBe(true);
    expect(await sut.claimMessage('t1', 'm-1', '1-0', 60)).toBe(true);
    expect(await sut.claimMessage('t1', 'm-1', '2-0', 60)).toBe(false);
    // Tenants have their own ids.
    expect(await sut.claimMessage('t2', 'm-1', '2-0', 60)).toBe(true);

    await sut.forgetMessage('t1', 'm-1');

    expect(await sut.claimMessage('t1', 'm-1', '3-0', 60)).toBe(true);
  });

  it('should claim many messages at once like claimMessage, per tenant', async () => {
    expect(await sut.claimMessage('bt1', 'm-1', '1-0', 60)).toBe(true);

    const claimed = await sut.claimMessages(
      [
        { tenantId: 'bt1', messageId: 'm-1', entryId: '2-0' },
        { tenantId: 'bt1', messageId: 'm-2', entryId: '3-0' },
        { tenantId: 'bt2', messageId: 'm-1', entryId: '4-0' },
        { tenantId: 'bt1', messageId: 'm-2', entryId: '3-0' },
      ],
      60,
    );

    expect([...claimed].sort()).toEqual(['3-0', '4-0']);
    expect(await sut.claimMessage('bt1', 'm-2', '5-0', 60)).toBe(false);
  });

  it('should hand a reply to its waiter, and time out without one', async () => {
    const reply = { message_id: 'm-2', from: AGENT, run_id: RUN, status: 'completed' as const, output: 42, error: null, ts: new Date().toISOString() };
    setTimeout(() => void sut.sendReply('r-1', reply), 50);

    expect(await sut.waitForReply('r-1', 2_000)).toEqual(reply);
    const started = Date.now();
    expect(await sut.waitForReply('r-2', 200)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  describe('with blocking connections', () => {
    const opened: ReturnType<typeof createRedis>[] = [];
    const blocking = new MeshStore(redis, isolated.prefix, () => {
      const connection = createRedis(isolated.url, { connectionName: 'messaging-mesh-store-blocking', forBlocking: true });
      opened.push(connection);
      return connection;
    });
    const ts = new Date().toISOString();
    const reply = (n: number) => ({ message_id: `m-${n}`, from: AGENT, run_id: RUN, status: 'completed' as const, output: n, error: null, ts });

    afterAll(async () => {
      await closeAll(...opened);
    });

    it('should hand a reply over as soon as it is pushed, reusing the connection, and time out without one', async () => {
      setTimeout(() => void blocking.sendReply('rb-1', reply(1)), 100);
      expect(await blocking.waitForReply('rb-1', 5_000)).toEqual(reply(1));

      const started = Date.now();
      expect(await blocking.waitForReply('rb-2', 200)).toBeNull();
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(opened).toHaveLength(1);
    });

    it('should serve concurrent waiters and stop waiting when aborted', async () => {
      const waits = [1, 2, 3].map((n) => blocking.waitForReply(`rc-${n}`, 5_000));
      await Promise.all([3, 1, 2].map((n) => blocking.sendReply(`rc-${n}`, reply(n))));
      expect(await Promise.all(waits)).toEqual([reply(1), reply(2), reply(3)]);

      const abort = new AbortController();
      const aborted = blocking.waitForReply('rc-never', 5_000, abort.signal);
      setTimeout(() => abort.abort(), 50);
      const started = Date.now();
      expect(await aborted).toBeNull();
      expect(Date.now() - started).toBeLessThan(1_000);
    });
  });

  it('should list coordinators and agents seen within the ttl and prune the stale ones', async () => {
    const now = Date.now();
    await sut.heartbeatCoordinator('old', 1, now - 60_000);
    await sut.heartbeatCoordinator('w-1', 3, now);
    expect(await sut.touchAgents('t1', ['gone'], 60_000, now - 120_000)).toEqual(['gone']);
    expect(await sut.touchAgents('t1', [AGENT], 60_000, now - 2_000)).toEqual([AGENT]);
    // Seen a second ago: still live, so not joined again.
    expect(await sut.touchAgents('t1', [AGENT], 60_000, now - 1_000)).toEqual([]);

    expect(await sut.liveCoordinators(15_000, now)).toEqual([{ id: 'w-1', lastSeenMs: now, load: 3 }]);
    expect(await sut.liveAgents('t1', 60_000, now)).toEqual([{ id: AGENT, lastSeenMs: now - 1_000, load: 0 }]);
    expect(await sut.liveAgents('t2', 60_000, now)).toEqual([]);
    expect(await redis.zcard(`${isolated.prefix}:mesh:presence:{coordinators}`)).toBe(1);
  });
});
