import type { z } from 'zod';

/** A BullMQ queue bound to the one schema (and version) its job payloads follow. */
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

/** BullMQ queue name: `<name>.v<version>`. */
export function queueName(def: QueueDef): string {
  return `${def.name}.v${def.version}`;
}
