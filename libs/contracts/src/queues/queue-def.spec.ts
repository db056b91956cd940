import { z } from 'zod';

import { defineQueue, queueName } from './queue-def';
import { Queues } from './queue-registry';

describe(queueName.name, () => {
  it('should suffix the name with its version', () => {
    expect(queueName(Queues.runs)).toBe('runs.v1');
  });

  it('should follow the version of the definition', () => {
    expect(queueName(defineQueue({ name: 'schedules', version: 4, schema: z.object({}) }))).toBe('schedules.v4');
  });
});

describe(defineQueue.name, () => {
  it('should return a frozen copy of the definition', () => {
    const def = { name: 'q', version: 2, schema: z.number() };
    const sut = defineQueue(def);

    expect(sut).toEqual(def);
    expect(Object.isFrozen(sut)).toBe(true);
  });
});
