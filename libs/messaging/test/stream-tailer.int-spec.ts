import { type RunEventV1, Streams, streamKey } from '@skreaver/contracts';
import { isolatedRedis, waitFor } from '@skreaver/testing';
import type { RedisClient } from '../src';

import { createRedis, StreamProducer, StreamTailer, type StreamTailerOptions } from '../src';
import { closeAll, runQueuedEvent, stopWhileRedisIsDown } from './fixtures';

const isolated = isolatedRedis('messaging-tailer');

describe(StreamTailer.name, () => {
  const redis = createRedis(isolated.url, { connectionName: 'messaging-tailer-test' });
  const connections: RedisClient[] = [redis];
  const tailers: StreamTailer<typeof Streams.events>[] = [];
  let test = 0;
  let prefix: string;
  let producer: StreamProducer;

  /** A tailer on its own blocking connection that records what it receives. */
  function tailer(options: Partial<StreamTailerOptions<typeof Streams.events>> = {}) {
    const received: string[] = [];
    const errors: unknown[] = [];
    const connection = createRedis(isolated.url, { connectionName: 'messaging-tailer-blocking', forBlocking: true });
    connections.push(connection);
    const sut = new StreamTailer({
      redis: connection,
      keyPrefix: prefix,
      stream: Streams.events,
      blockMs: 200,
      onEntries: (entries) => {
        received.push(...entries.map((entry) => entry.payload.id));
      },
      onError: (error) => errors.push(error),
      ...options,
    });
    tailers.push(sut);
    return { sut, received, errors, connection };
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

  beforeEach(() => {
    // Each test gets its own global stream.
    prefix = `${isolated.prefix}:${++test}`;
    producer = new StreamProducer(redis, prefix);
  });

  afterEach(async () => {
    await Promise.all(tailers.splice(0).map((t) => t.stop()));
  });

  afterAll(async () => {
    await isolated.cleanup();
    await closeAll(...connections);
  });

  it('should deliver only entries appended after start, in order', async () => {
    await publish(3);
    const { sut, received } = tailer();
    await sut.start();
    const expected = await publish(20);
    await waitFor(() => received.length >= 20, { what: '20 entries' });
    expect(received).toEqual(expected);
  });

  it('should pass over batches nobody wants, and deliver those appended once they are wanted', async () => {
    let wanted = false;
    const { sut, received } = tailer({ wanted: () => wanted });
    await sut.start();
    let lastEntry: string | null = null;
    for (let seq = 1; seq <= 3; seq += 1) lastEntry = await producer.publish(Streams.events, runQueuedEvent(seq));
    await waitFor(() => sut.lastId === lastEntry, { what: 'the unwanted entries passed over' });
    wanted = true;
    const later = runQueuedEvent(9);
    await producer.publish(Streams.events, later);
    await waitFor(() => received.length > 0, { what: 'the wanted entry' });
    expect(received).toEqual([later.id]);
  });

  it('should wait between unwanted reads until woken, then deliver what was appended meanwhile', async () => {
    let wanted = false;
    const { sut, received } = tailer({ wanted: () => wanted, unwantedReadIntervalMs: 60_000 });
    await sut.start();
    const passedOver = await producer.publish(Streams.events, runQueuedEvent(1));
    await waitFor(() => sut.lastId === passedOver, { what: 'the unwanted entry passed over' });
    const meanwhile = await publish(3);
    // Not read while the tailer waits (without the wait, a 200 ms block reads them at once).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sut.lastId).toBe(passedOver);

    wanted = true;
    sut.wake();
    await waitFor(() => received.length >= 3, { what: 'the entries appended while it waited' });
    expect(received).toEqual(meanwhile);
  });

  it('should not miss entries appended between two reads', async () => {
    const { sut, received } = tailer({ count: 3 });
    await sut.start();
    // Published concurrently with the reads, in batches larger than COUNT.
    const expected = (await Promise.all([publish(25), publish(25)])).flat();
    await waitFor(() => received.length >= 50, { what: '50 entries' });
    expect([...received].sort()).toEqual([...expected].sort());
    expect(new Set(received).size).toBe(50);
  });

  it('should resume from lastId without gap or duplicate, in a new tailer and after a restart', async () => {
    const first = tailer();
    await first.sut.start();
    const before = await publish(5);
    await waitFor(() => first.received.length >= 5, { what: 'first batch' });
    await first.sut.stop();
    const whileStopped = await publish(4);

    const second = tailer({ from: first.sut.lastId });
    await second.sut.start();
    await waitFor(() => second.received.length >= 4, { what: 'entries appended while stopped' });

    await first.sut.start();
    const after = await publish(3);
    await waitFor(() => first.received.length >= 12 && second.received.length >= 7, { what: 'entries after restart' });
    expect(first.received).toEqual([...before, ...whileStopped, ...after]);
    expect(second.received).toEqual([...whileStopped, ...after]);
  });

  it('should stop promptly without waiting out the block', async () => {
    const { sut } = tailer({ blockMs: 10_000 });
    await sut.start();
    // Let the loop enter its blocking XREAD.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await sut.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('should stop while its connection waits to reconnect to a Redis that is down', async () => {
    // ioredis keeps a read queued while it waits to reconnect, and disconnect() then settles nothing: a stop that
    // waited for that read hung graceful shutdowns after a Redis outage (seen as a 60 s close in agent-api's tests).
    const stopped = await stopWhileRedisIsDown(
      (connection) => new StreamTailer({ redis: connection, keyPrefix: prefix, stream: Streams.events, blockMs: 200, onEntries: () => undefined }),
      connections,
    );
    expect(stopped).toBe('stopped');
  });

  it('should keep delivering after its connection is killed', async () => {
    const { sut, received, connection } = tailer();
    const clientId = await connection.client('ID');
    await sut.start();
    const before = await publish(3);
    await waitFor(() => received.length >= 3, { what: 'entries before the kill' });

    await redis.client('KILL', 'ID', String(clientId));
    const during = await publish(3);
    await waitFor(async () => (await connection.client('ID')) !== clientId, { what: 'a reconnect' });
    const after = await publish(3);
    await waitFor(() => received.length >= 9, { what: 'entries after the kill' });
    expect(received).toEqual([...before, ...during, ...after]);
  });

  it('should skip unparseable entries and report them', async () => {
    const invalid: string[] = [];
    const { sut, received } = tailer({ onInvalid: (entryId) => invalid.push(entryId) });
    await sut.start();
    const badId = await redis.xadd(streamKey(Streams.events, prefix), '*', 'data', '{"type":"nope"}');
    const [good] = await publish(1);
    await waitFor(() => received.length >= 1, { what: 'the valid entry' });
    expect(received).toEqual([good]);
    expect(invalid).toEqual([badId]);
    expect(sut.lastId).not.toBe(badId);
  });

  it('should report errors thrown by onEntries and carry on', async () => {
    let calls = 0;
    const received: string[] = [];
    const { sut, errors } = tailer({
      onEntries: (entries) => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        received.push(...entries.map((entry) => entry.payload.id));
      },
    });
    await sut.start();
    await publish(1);
    await waitFor(() => errors.length >= 1, { what: 'the callback error' });
    const [later] = await publish(1);
    await waitFor(() => received.length >= 1, { what: 'the next entry' });
    expect(received).toEqual([later]);
    expect(String(errors[0])).toMatch(/boom/);
  });
});
