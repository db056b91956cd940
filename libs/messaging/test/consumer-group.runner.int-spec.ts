import { type DeadLetterV1, type RunEventV1, Streams, streamKey } from '@skreaver/contracts';
import { isolatedRedis, waitFor } from '@skreaver/testing';
import type { RedisClient } from '../src';

import {
  ConsumerGroupRunner,
  type ConsumerGroupRunnerOptions,
  createRedis,
  type DeliveryMeta,
  StreamProducer,
  StreamReader,
} from '../src';
import { closeAll, runQueuedEvent, stopWhileRedisIsDown } from './fixtures';

const isolated = isolatedRedis('messaging-consumer-group');
type Events = typeof Streams.events;

describe(ConsumerGroupRunner.name, () => {
  const redis = createRedis(isolated.url, { connectionName: 'messaging-group-test' });
  const connections: RedisClient[] = [redis];
  const runners: ConsumerGroupRunner<Events>[] = [];
  let test = 0;
  let prefix: string;
  let key: string;
  let producer: StreamProducer;
  let reader: StreamReader;

  /** A runner on its own blocking connection, in group `g`, with test-sized timings. */
  function runner(consumer: string, options: Partial<ConsumerGroupRunnerOptions<Events>>) {
    const connection = createRedis(isolated.url, { connectionName: `messaging-group-${consumer}`, forBlocking: true });
    connections.push(connection);
    const errors: unknown[] = [];
    const sut = new ConsumerGroupRunner({
      redis: connection,
      keyPrefix: prefix,
      stream: Streams.events,
      group: 'g',
      consumer,
      handler: async () => undefined,
      blockMs: 100,
      claimIdleMs: 200,
      maxDeliveries: 3,
      deadLetterProducer: producer,
      onError: (error) => errors.push(error),
      ...options,
    });
    runners.push(sut);
    return { sut, errors, connection };
  }

  async function publish(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const event: RunEventV1 = runQueuedEvent(i + 1);
      await producer.publish(Streams.events, event);
      ids.push(event.id);
    }
    return ids;
  }

  async function pendingCount(): Promise<number> {
    const [count] = (await redis.xpending(key, 'g')) as [number];
    return count;
  }

  async function deadLetters(): Promise<DeadLetterV1[]> {
    return (await reader.range(Streams.deadLetters, { count: 100 })).map((entry) => entry.payload);
  }

  beforeEach(() => {
    prefix = `${isolated.prefix}:${++test}`;
    key = streamKey(Streams.events, prefix);
    producer = new StreamProducer(redis, prefix);
    reader = new StreamReader(redis, prefix);
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await isolated.cleanup();
    await closeAll(...connections);
  });

  it('should create the group and process entries published before and after start', async () => {
    const handled: string[] = [];
    const before = await publish(2);
    const { sut } = runner('c1', { handler: async (payload) => void handled.push(payload.id) });
    await sut.start();
    const after = await publish(2);
    await waitFor(() => handled.length >= 4, { what: '4 entries' });
    expect(handled).toEqual([...before, ...after]);
    await waitFor(async () => (await pendingCount()) === 0, { what: 'every entry acked' });
  });

  it('should split entries between two runners with none lost and none processed twice', async () => {
    const handledBy = new Map<string, string[]>([
      ['a', []],
      ['b', []],
    ]);
    for (const name of ['a', 'b']) {
      const { sut } = runner(name, {
        count: 5,
        handler: async (payload) => {
          handledBy.get(name)?.push(payload.id);
          await new Promise((resolve) => setTimeout(resolve, 2));
        },
      });
      await sut.start();
    }
    const published = await publish(100);
    const all = () => [...(handledBy.get('a') ?? []), ...(handledBy.get('b') ?? [])];
    await waitFor(() => all().length >= 100, { what: '100 entries' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...all()].sort()).toEqual([...published].sort());
    expect(handledBy.get('a')?.length).toBeGreaterThan(0);
    expect(handledBy.get('b')?.length).toBeGreaterThan(0);
    expect(await pendingCount()).toBe(0);
  });

  it('should redeliver an entry whose handler failed, with its delivery count', async () => {
    const attempts: DeliveryMeta[] = [];
    const { sut, errors } = runner('c1', {
      handler: async (_payload, meta) => {
        attempts.push(meta);
        if (attempts.length === 1) throw new Error('transient');
      },
    });
    await sut.start();
    await publish(1);
    await waitFor(() => attempts.length >= 2, { what: 'a redelivery' });
    expect(attempts.map((meta) => meta.deliveries)).toEqual([1, 2]);
    expect(attempts[0]?.id).toBe(attempts[1]?.id);
    expect(String(errors[0])).toMatch(/transient/);
    await waitFor(async () => (await pendingCount()) === 0, { what: 'the retry acked' });
  });

  it('should retry the handler in place while Redis is unreachable, without a redelivery or the next entries failing', async () => {
    const calls: Array<{ n: number; meta: DeliveryMeta }> = [];
    let outage = 3;
    const { sut, errors } = runner('c1', {
      // Far beyond the test: an entry left pending would not come back in time.
      claimIdleMs: 60_000,
      maxDeliveries: 2,
      handler: async (payload, meta) => {
        calls.push({ n: payload.seq, meta });
        if (outage-- > 0) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      },
    });
    await sut.start();
    await publish(2);
    await waitFor(async () => (await pendingCount()) === 0 && calls.length === 5, { what: 'both entries handled and acked' });
    // Three failed tries of the first entry, all its first delivery, then each entry once: none skipped or dead-lettered.
    expect(calls.map(({ n, meta }) => [n, meta.deliveries])).toEqual([[1, 1], [1, 1], [1, 1], [1, 1], [2, 1]]);
    expect(errors).toHaveLength(3);
    expect(await deadLetters()).toEqual([]);
  });

  it('should retry in place the errors the caller calls transient (its database down), never dead-lettering them', async () => {
    const calls: number[] = [];
    let outage = 3;
    const { sut } = runner('c1', {
      claimIdleMs: 60_000,
      // One delivery allowed: any failure counted against it would dead-letter the entry.
      maxDeliveries: 1,
      isTransient: (error) => error instanceof Error && error.message === 'database down',
      handler: async (payload) => {
        calls.push(payload.seq);
        if (outage-- > 0) throw new Error('database down');
      },
    });
    await sut.start();
    await publish(1);
    await waitFor(async () => (await pendingCount()) === 0 && calls.length === 4, { what: 'the entry handled and acked' });
    expect(await deadLetters()).toEqual([]);
  });

  it('should let another runner reclaim the entries a stopped runner left unacked', async () => {
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const crashed: string[] = [];
    const first = runner('crashing', {
      count: 10,
      handler: async (payload) => {
        crashed.push(payload.id);
        // Crashes on the first entry after noticing it; the rest of its batch is never handled.
        await stuck;
        throw new Error('crash');
      },
    });
    // Published before start so that the first read takes all three in one batch.
    const published = await publish(3);
    await first.sut.start();
    await waitFor(() => crashed.length >= 1, { what: 'the first runner to take an entry' });
    const stopping = first.sut.stop();
    release();
    await stopping;
    expect(await pendingCount()).toBe(3);

    const handled: Array<[string, number]> = [];
    const second = runner('survivor', { handler: async (payload, meta) => void handled.push([payload.id, meta.deliveries]) });
    await second.sut.start();
    await waitFor(() => handled.length >= 3, { what: 'reclaimed entries' });
    expect(handled.map(([id]) => id)).toEqual(published);
    expect(handled[0]?.[1]).toBe(2);
    await waitFor(async () => (await pendingCount()) === 0, { what: 'reclaimed entries acked' });
  });

  it('should dead-letter and ack an unparseable entry', async () => {
    const handled: string[] = [];
    const { sut } = runner('c1', { handler: async (payload) => void handled.push(payload.id) });
    await sut.start();
    const badId = await redis.xadd(key, '*', 'data', '{"broken":true}', 'trace', 't-1');
    const [good] = await publish(1);
    await waitFor(() => handled.length >= 1, { what: 'the valid entry' });
    const [letter] = await waitFor(async () => {
      const letters = await deadLetters();
      return letters.length > 0 && letters;
    });
    expect(letter).toMatchObject({
      stream: key,
      entry_id: badId,
      group: 'g',
      reason: 'invalid_payload',
      deliveries: 1,
      fields: { data: '{"broken":true}', trace: 't-1' },
    });
    expect(letter?.detail).toMatch(/violates its contract/);
    expect(handled).toEqual([good]);
    await waitFor(async () => (await pendingCount()) === 0, { what: 'the bad entry acked' });
  });

  it('should dead-letter an entry after maxDeliveries failed attempts', async () => {
    const deliveries: number[] = [];
    const { sut } = runner('c1', {
      maxDeliveries: 3,
      handler: async (_payload, meta) => {
        deliveries.push(meta.deliveries);
        throw new Error(`still failing (${meta.deliveries})`);
      },
    });
    await sut.start();
    const [id] = await publish(1);
    const [letter] = await waitFor(async () => {
      const letters = await deadLetters();
      return letters.length > 0 && letters;
    });
    expect(deliveries).toEqual([1, 2, 3]);
    expect(letter).toMatchObject({ reason: 'max_deliveries', deliveries: 3, detail: 'still failing (3)' });
    expect(JSON.parse(letter?.fields['data'] ?? '{}')).toMatchObject({ id });
    expect(await pendingCount()).toBe(0);
  });

  it('should wait for the in-flight handler on stop and ack its entry', async () => {
    let started = false;
    let finished = false;
    const { sut } = runner('c1', {
      handler: async () => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished = true;
      },
    });
    await sut.start();
    await publish(1);
    // The handler itself, not just the read: an entry read but not yet handled at stop stays pending by design.
    await waitFor(async () => started, { what: 'the handler to start' });
    await sut.stop();
    expect(finished).toBe(true);
    expect(await pendingCount()).toBe(0);
  });

  it('should stop while its connection waits to reconnect to a Redis that is down', async () => {
    // Its queued read never settles once the client is cut off between reconnect attempts: stop must not wait for it.
    const stopped = await stopWhileRedisIsDown(
      (connection) =>
        new ConsumerGroupRunner({ redis: connection, keyPrefix: prefix, stream: Streams.events, group: 'g', consumer: 'c1', handler: async () => undefined, blockMs: 100, deadLetterProducer: producer }),
      connections,
    );
    expect(stopped).toBe('stopped');
  });

  it('should recreate its group when the stream disappears', async () => {
    const handled: string[] = [];
    const { sut, errors } = runner('c1', { handler: async (payload) => void handled.push(payload.id) });
    await sut.start();
    await publish(1);
    await waitFor(() => handled.length >= 1, { what: 'the first entry' });
    // As after a Redis restart without persistence: stream and group are gone.
    await redis.del(key);
    await waitFor(() => errors.some((error) => String(error).includes('NOGROUP')), { what: 'the NOGROUP error' });
    const [later] = await publish(1);
    await waitFor(() => handled.length >= 2, { what: 'an entry after the group was recreated' });
    expect(handled[1]).toBe(later);
  });

  describe('batch mode', () => {
    it('should hand a read to batchHandler together, ack the entries it did not fail in one go, and redeliver the failed one', async () => {
      const ids = await publish(5);
      const batches: string[][] = [];
      const seen = new Map<string, number>();
      const { sut } = runner('c1', {
        count: 10,
        batchHandler: async (items) => {
          batches.push(items.map((item) => item.payload.id));
          const failures = new Map<string, unknown>();
          for (const { payload, meta } of items) {
            seen.set(payload.id, meta.deliveries);
            // The third event fails on its first delivery only.
            if (payload.id === ids[2] && meta.deliveries === 1) failures.set(meta.id, new Error('not yet'));
          }
          return failures;
        },
      });

      await sut.start();

      await waitFor(async () => (seen.get(ids[2] as string) === 2 && (await pendingCount()) === 0) || undefined, { timeoutMs: 5_000, what: 'the failed entry redelivered and acked' });
      expect(batches[0]).toEqual(ids);
      expect([...seen.keys()].sort()).toEqual([...ids].sort());
      expect(await deadLetters()).toEqual([]);
    });

    it('should read fewer entries after a read of large ones (readBytes), and the full count again once they are small', async () => {
      await producer.publish(Streams.events, { ...runQueuedEvent(1), data: { input: 'x'.repeat(3_000) } });
      await publish(20);
      const [[, fields] = ['', []]] = await redis.xrange(key, '-', '+', 'COUNT', 1);
      const largest = fields.reduce((sum, field) => sum + field.length, 0);
      const sizes: number[] = [];
      const { sut } = runner('c1', {
        count: 10,
        // Room for three entries of the large one's size: the read after it asks for three.
        readBytes: 3 * largest + 10,
        batchHandler: async (items) => {
          sizes.push(items.length);
          return new Map();
        },
      });

      await sut.start();

      await waitFor(async () => ((await pendingCount()) === 0 && sizes.reduce((a, b) => a + b, 0) === 21) || undefined, { timeoutMs: 5_000, what: 'all 21 entries handled and acked' });
      expect(sizes).toEqual([10, 3, 8]);
    });

    it('should dead-letter an unparseable entry and one that keeps failing, and ack the rest of the batch', async () => {
      const ids = await publish(2);
      await redis.xadd(key, '*', 'data', '{not json');
      const { sut } = runner('c1', {
        count: 10,
        batchHandler: async (items) => new Map(items.filter((item) => item.payload.id === ids[0]).map((item) => [item.meta.id, new Error('always')])),
      });

      await sut.start();

      await waitFor(async () => ((await deadLetters()).length === 2 && (await pendingCount()) === 0) || undefined, { timeoutMs: 10_000, what: 'two dead letters, nothing pending' });
      expect((await deadLetters()).map((letter) => letter.reason).sort()).toEqual(['invalid_payload', 'max_deliveries']);
    });
  });
});
