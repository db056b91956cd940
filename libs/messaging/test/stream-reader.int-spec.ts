import { Streams, streamKey } from '@skreaver/contracts';
import { isolatedRedis } from '@skreaver/testing';

import { createRedis, StreamProducer, StreamReader } from '../src';
import { closeAll, runQueuedEvent } from './fixtures';

const isolated = isolatedRedis('messaging-reader');

describe(StreamReader.name, () => {
  const redis = createRedis(isolated.url, { connectionName: 'messaging-reader-test' });
  const producer = new StreamProducer(redis, isolated.prefix);
  const invalid: string[] = [];
  const sut = new StreamReader(redis, isolated.prefix, { onInvalid: (entryId) => invalid.push(entryId) });
  const runId = runQueuedEvent().run_id;

  beforeAll(async () => {
    for (let seq = 1; seq <= 10; seq += 1) {
      await producer.publish(Streams.runEvents, runQueuedEvent(seq, runId), { partition: runId, id: `0-${seq}` });
    }
  });

  afterAll(async () => {
    await isolated.cleanup();
    await closeAll(redis);
  });

  beforeEach(() => (invalid.length = 0));

  it('should return the first entries in order, up to count', async () => {
    const entries = await sut.range(Streams.runEvents, { partition: runId, count: 3 });
    expect(entries.map((entry) => [entry.id, entry.payload.seq])).toEqual([
      ['0-1', 1],
      ['0-2', 2],
      ['0-3', 3],
    ]);
  });

  it('should start after the given id, exclusively', async () => {
    const entries = await sut.range(Streams.runEvents, { partition: runId, after: '0-8', count: 5 });
    expect(entries.map((entry) => entry.id)).toEqual(['0-9', '0-10']);
  });

  it('should return nothing after the last entry or for an unknown stream', async () => {
    expect(await sut.range(Streams.runEvents, { partition: runId, after: '0-10', count: 5 })).toEqual([]);
    expect(await sut.range(Streams.runEvents, { partition: 'no-such-run', count: 5 })).toEqual([]);
  });

  it('should return the newest entry or null', async () => {
    expect((await sut.last(Streams.runEvents, { partition: runId }))?.payload.seq).toBe(10);
    expect(await sut.last(Streams.runEvents, { partition: 'no-such-run' })).toBeNull();
  });

  describe('with unparseable entries', () => {
    const dirtyRun = runQueuedEvent().run_id;
    const dirtyKey = streamKey(Streams.runEvents, isolated.prefix, dirtyRun);

    beforeAll(async () => {
      await producer.publish(Streams.runEvents, runQueuedEvent(1, dirtyRun), { partition: dirtyRun, id: '0-1' });
      await redis.xadd(dirtyKey, '0-2', 'data', 'not json');
      await redis.xadd(dirtyKey, '0-3', 'data', JSON.stringify({ type: 'run.queued' }));
      await producer.publish(Streams.runEvents, runQueuedEvent(4, dirtyRun), { partition: dirtyRun, id: '0-4' });
      await redis.xadd(dirtyKey, '0-5', 'other', 'field');
    });

    it('should skip them, report them and still fill the page', async () => {
      const entries = await sut.range(Streams.runEvents, { partition: dirtyRun, count: 2 });
      expect(entries.map((entry) => entry.id)).toEqual(['0-1', '0-4']);
      expect(invalid).toEqual(['0-2', '0-3']);
    });

    it('should return the newest valid entry as last', async () => {
      expect((await sut.last(Streams.runEvents, { partition: dirtyRun }))?.id).toBe('0-4');
      expect(invalid).toEqual(['0-5']);
    });
  });

  it('should reject a non-positive count', async () => {
    await expect(sut.range(Streams.runEvents, { partition: runId, count: 0 })).rejects.toThrow(/count/);
  });
});
