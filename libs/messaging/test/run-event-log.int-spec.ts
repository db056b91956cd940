import { Streams, streamKey } from '@skreaver/contracts';
import { isolatedRedis } from '@skreaver/testing';

import { createRedis, PAYLOAD_FIELD, RunEventLog, StreamProducer, StreamReader } from '../src';
import { closeAll, runQueuedEvent } from './fixtures';

const isolated = isolatedRedis('messaging-run-event-log');

describe(RunEventLog.name, () => {
  const redis = createRedis(isolated.url, { connectionName: 'messaging-run-event-log-test' });
  let test = 0;
  let reader: StreamReader;
  let sut: RunEventLog;

  beforeEach(() => {
    const prefix = `${isolated.prefix}:${++test}`;
    reader = new StreamReader(redis, prefix);
    sut = new RunEventLog(new StreamProducer(redis, prefix), reader);
  });

  afterAll(async () => {
    await isolated.cleanup();
    await closeAll(redis);
  });

  async function globalIds(): Promise<string[]> {
    return (await reader.range(Streams.events, { count: 100 })).map((entry) => entry.payload.id);
  }

  it('should append to the run log with id 0-<seq> and to the global stream', async () => {
    const first = runQueuedEvent(1);
    const second = runQueuedEvent(2, first.run_id, first.agent_id);
    expect(await sut.append(first)).toBe(true);
    expect(await sut.append(second)).toBe(true);
    const log = await reader.range(Streams.runEvents, { partition: first.run_id, count: 10 });
    expect(log.map((entry) => entry.id)).toEqual(['0-1', '0-2']);
    expect(await globalIds()).toEqual([first.id, second.id]);
  });

  it('should treat re-appending the same event as a duplicate and still republish it globally', async () => {
    const event = runQueuedEvent(1);
    await sut.append(event);
    expect(await sut.append(event)).toBe(false);
    expect(await sut.read(event.run_id, { limit: 10 })).toEqual([event]);
    // At least once on the global stream: the first attempt may have failed between the two appends.
    expect(await globalIds()).toEqual([event.id, event.id]);
  });

  it('should drop a different event whose seq is already taken', async () => {
    const event = runQueuedEvent(1);
    await sut.append(event);
    const conflicting = { ...event, data: { input: 'other' } };
    expect(await sut.append(conflicting)).toBe(false);
    expect(await sut.read(event.run_id, { limit: 10 })).toEqual([event]);
    expect(await globalIds()).toEqual([event.id]);
  });

  it('should append the first events of new runs to their logs and, in order, to the global stream at once', async () => {
    const events = [runQueuedEvent(1), runQueuedEvent(1), runQueuedEvent(1)];
    await sut.appendNew(events);
    for (const event of events) expect(await sut.read(event.run_id, { limit: 10 })).toEqual([event]);
    expect(await globalIds()).toEqual(events.map((event) => event.id));
  });

  it('should refuse appendNew for a run whose log already holds the seq', async () => {
    const event = runQueuedEvent(1);
    await sut.append(event);
    await expect(sut.appendNew([{ ...event, data: { input: 'other' } }])).rejects.toThrow(/already had event 1/);
    expect(await sut.read(event.run_id, { limit: 10 })).toEqual([event]);
  });

  it('should drop an event whose seq is below the log top but holds no entry', async () => {
    const first = runQueuedEvent(1);
    await sut.append(first);
    await sut.append(runQueuedEvent(3, first.run_id, first.agent_id));
    expect(await sut.append(runQueuedEvent(2, first.run_id, first.agent_id))).toBe(false);
    expect((await sut.read(first.run_id, { limit: 10 })).map((event) => event.seq)).toEqual([1, 3]);
    expect((await globalIds()).length).toBe(2);
  });

  it('should recognise the same event stored with its keys in another order and republish it globally', async () => {
    const event = runQueuedEvent(1);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(event).reverse()));
    await redis.xadd(streamKey(Streams.runEvents, `${isolated.prefix}:${test}`, event.run_id), '0-1', PAYLOAD_FIELD, reordered);
    expect(await sut.append(event)).toBe(false);
    expect(await globalIds()).toEqual([event.id]);
  });

  it('should recognise its own event, serialised with its keys in another order, as the one stored', async () => {
    const event = runQueuedEvent(1);
    await sut.append(event);
    // `own` events are serialised as built, not in the schema's key order.
    const reordered = Object.fromEntries(Object.entries(event).reverse()) as typeof event;
    expect(await sut.append(reordered, { own: true })).toBe(false);
    expect(await globalIds()).toEqual([event.id, event.id]);
  });

  it('should let the log expire after an append given a TTL, also when the event was already there', async () => {
    const first = runQueuedEvent(1);
    const key = streamKey(Streams.runEvents, `${isolated.prefix}:${test}`, first.run_id);
    await sut.append(first);
    expect(await redis.ttl(key)).toBe(-1);
    expect(await sut.append(runQueuedEvent(2, first.run_id, first.agent_id), { ttlSeconds: 600 })).toBe(true);
    expect(await redis.ttl(key)).toBeGreaterThan(590);
    await redis.persist(key);
    expect(await sut.append(first, { ttlSeconds: 600 })).toBe(false);
    expect(await redis.ttl(key)).toBeGreaterThan(590);
  });

  it('should read after a seq, up to a limit, and return the last event', async () => {
    const first = runQueuedEvent(1);
    for (let seq = 1; seq <= 5; seq += 1) await sut.append(runQueuedEvent(seq, first.run_id, first.agent_id));
    expect((await sut.read(first.run_id, { afterSeq: 2, limit: 2 })).map((event) => event.seq)).toEqual([3, 4]);
    expect((await sut.read(first.run_id, { limit: 10 })).map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await sut.last(first.run_id))?.seq).toBe(5);
    expect(await sut.last(runQueuedEvent().run_id)).toBeNull();
  });
});
