import { defineStream, Streams, streamKey } from '@skreaver/contracts';
import { isolatedRedis } from '@skreaver/testing';
import { z } from 'zod';

import { ContractViolationError, createRedis, StreamProducer } from '../src';
import { closeAll, runQueuedEvent } from './fixtures';

const isolated = isolatedRedis('messaging-producer');
const Ticks = defineStream({ name: 'test.ticks', version: 1, schema: z.object({ n: z.number().int() }), partitioned: false, maxLen: 10 });

describe(StreamProducer.name, () => {
  const redis = createRedis(isolated.url, { connectionName: 'messaging-producer-test' });
  const sut = new StreamProducer(redis, isolated.prefix);

  afterAll(async () => {
    await isolated.cleanup();
    await closeAll(redis);
  });

  it('should append the schema-parsed payload as JSON under the data field', async () => {
    const event = runQueuedEvent();
    const withUnknownKey = { ...event, extra: 'stripped' };
    const id = await sut.publish(Streams.events, withUnknownKey);
    expect(id).toMatch(/^\d+-\d+$/);
    const [[storedId, fields]] = await redis.xrange(streamKey(Streams.events, isolated.prefix), '-', '+');
    expect(storedId).toBe(id);
    expect(fields).toEqual(['data', JSON.stringify(event)]);
  });

  it('should reject an invalid payload with the zod issues and write nothing', async () => {
    const event = runQueuedEvent(1);
    const invalid = { ...event, seq: -1 };
    const error = await sut.publish(Streams.runEvents, invalid, { partition: event.run_id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContractViolationError);
    expect((error as ContractViolationError).issues[0]?.path).toEqual(['seq']);
    expect(await redis.exists(streamKey(Streams.runEvents, isolated.prefix, event.run_id))).toBe(0);
  });

  it('should require a partition for a partitioned stream', async () => {
    await expect(sut.publish(Streams.runEvents, runQueuedEvent())).rejects.toThrow(/partition is required/);
  });

  it('should trim the stream to about maxLen', async () => {
    for (let n = 0; n < 300; n += 1) await sut.publish(Ticks, { n });
    const length = await redis.xlen(streamKey(Ticks, isolated.prefix));
    // MAXLEN ~ trims whole radix-tree nodes (100 entries by default), so the length stays above maxLen but bounded.
    expect(length).toBeGreaterThanOrEqual(Ticks.maxLen);
    expect(length).toBeLessThanOrEqual(Ticks.maxLen + 100);
  });

  it('should return null when an explicit id was already appended', async () => {
    const first = runQueuedEvent(1);
    const second = runQueuedEvent(2, first.run_id, first.agent_id);
    const options = { partition: first.run_id };
    expect(await sut.publish(Streams.runEvents, first, { ...options, id: '0-1' })).toBe('0-1');
    expect(await sut.publish(Streams.runEvents, second, { ...options, id: '0-2' })).toBe('0-2');
    expect(await sut.publish(Streams.runEvents, second, { ...options, id: '0-2' })).toBeNull();
    expect(await sut.publish(Streams.runEvents, first, { ...options, id: '0-1' })).toBeNull();
    expect(await redis.xlen(streamKey(Streams.runEvents, isolated.prefix, first.run_id))).toBe(2);
  });

  it('should still fail on other XADD errors', async () => {
    await redis.set(streamKey(Ticks, `${isolated.prefix}:wrongtype`), 'not a stream');
    await expect(new StreamProducer(redis, `${isolated.prefix}:wrongtype`).publish(Ticks, { n: 1 }, { id: '0-1' })).rejects.toThrow(
      /WRONGTYPE/,
    );
  });
});
