import type { z } from 'zod';

/** A Redis stream bound to the one schema (and version) its entries follow. */
export interface StreamDef<S extends z.ZodType = z.ZodType> {
  /** Logical name, dot-separated: `<domain>.<entity>`. */
  readonly name: string;
  readonly version: number;
  readonly schema: S;
  /** Partitioned streams have one key per partition (e.g. per run); the partition is the Redis Cluster hash tag. */
  readonly partitioned: boolean;
  /** Approximate MAXLEN the producer trims to. */
  readonly maxLen: number;
}

/** The payload type a stream carries. */
export type StreamPayload<D extends StreamDef> = z.infer<D['schema']>;

/** Declares a stream; the returned object is the only way to publish to or read from it. */
export function defineStream<S extends z.ZodType>(def: StreamDef<S>): StreamDef<S> {
  return Object.freeze({ ...def });
}

/** The Redis key of a stream under a deployment's key prefix (and partition, for partitioned streams). */
export function streamKey(def: StreamDef, prefix: string, partition?: string): string {
  const base = `${prefix}:stream:${def.name}.v${def.version}`;
  if (def.partitioned) {
    if (!partition) throw new Error(`stream ${def.name} is partitioned: a partition is required`);
    return `${base}:{${partition}}`;
  }
  if (partition) throw new Error(`stream ${def.name} is not partitioned`);
  return base;
}
