import { z } from 'zod';

import { defineStream, streamKey } from './stream-def';
import { Streams } from './stream-registry';

const RUN_ID = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';

describe(streamKey.name, () => {
  it('should put a partitioned stream under the prefix with its version and the partition as a hash tag', () => {
    expect(streamKey(Streams.runEvents, 'skreaver', RUN_ID)).toBe(`skreaver:stream:runs.events.v1:{${RUN_ID}}`);
  });

  it('should name an unpartitioned stream without a partition', () => {
    expect(streamKey(Streams.events, 'tenant-a')).toBe('tenant-a:stream:events.v1');
  });

  it('should use the version of the definition', () => {
    const def = defineStream({ name: 'agents.presence', version: 3, schema: z.object({}), partitioned: false, maxLen: 10 });

    expect(streamKey(def, 'p')).toBe('p:stream:agents.presence.v3');
  });

  it.each([undefined, ''])('should throw when a partitioned stream gets the partition %j', (partition) => {
    expect(() => streamKey(Streams.runEvents, 'skreaver', partition)).toThrow(
      'stream runs.events is partitioned: a partition is required',
    );
  });

  it('should throw when an unpartitioned stream gets a partition', () => {
    expect(() => streamKey(Streams.deadLetters, 'skreaver', RUN_ID)).toThrow('stream dead-letters is not partitioned');
  });
});

describe(defineStream.name, () => {
  it('should return a frozen copy of the definition', () => {
    const def = { name: 'x', version: 1, schema: z.string(), partitioned: false, maxLen: 1 };
    const sut = defineStream(def);

    expect(sut).toEqual(def);
    expect(sut).not.toBe(def);
    expect(Object.isFrozen(sut)).toBe(true);
  });
});
