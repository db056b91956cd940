import type { z } from 'zod';

/** A job queue (the stream queue, or BullMQ) bound to the one schema (and version) its job payloads follow. */
export interface QueueDef<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly version: number;
  readonly schema: S;
}

export type QueuePayload<D extends QueueDef> = z.infer<D['schema']>;

/** Declares a queue; the returned object is the only way to enqueue to or work on it. */
export function defineQueue<S extends z.ZodType>(def: QueueDef<S>): QueueDef<S> {
  return Object.freeze({ ...def });
}

/** Queue name: `<name>.v<version>`. */
export function queueName(def: QueueDef): string {
  return `${def.name}.v${def.version}`;
}

/** Keys of a stream queue; all under the deployment's `{prefix}` hash tag, so one script may touch them all in a Redis Cluster. */
export interface StreamQueueKeys {
  /** The stream of jobs to do (waiting: not yet read; active: read, pending in the group); an entry is deleted when its job finishes. */
  stream: string;
  /** Sorted set of jobs waiting for a retry, scored by when it is due (ms). */
  delayed: string;
  /** Sorted sets of finished jobs kept for inspection, scored by when they finished (ms). */
  completed: string;
  failed: string;
  /** Prefix of a job's hash (`<jobs><id>`): its state, payload, attempts, stalls; the job id's idempotency record. */
  jobs: string;
}

/** The keys of `def`'s stream queue under `keyPrefix`: `{<prefix>}:sq:<name>.v<n>:*`, apart from BullMQ's `{<prefix>}:<name>.v<n>:*`. */
export function streamQueueKeys(def: QueueDef, keyPrefix: string): StreamQueueKeys {
  const base = `{${keyPrefix}}:sq:${queueName(def)}`;
  return { stream: `${base}:jobs`, delayed: `${base}:delayed`, completed: `${base}:completed`, failed: `${base}:failed`, jobs: `${base}:job:` };
}
