import { defineQueue } from './queue-def';
import { RunJobV1 } from './run-job.v1';

/** Every job queue of the platform: name ↔ schema ↔ version. */
export const Queues = {
  runs: defineQueue({ name: 'runs', version: 1, schema: RunJobV1 }),
} as const;
