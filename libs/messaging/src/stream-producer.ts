import { type StreamDef, streamKey } from '@skreaver/contracts';
import type { ChainableCommander } from 'ioredis';

import { type RedisClient, isCluster } from './redis-connection';
import { RedisScript } from './redis-script';
import type { z } from 'zod';

import { ContractViolationError } from './contract-violation.error';
import { PAYLOAD_FIELD } from './stream-entry';

/** Options of one `StreamProducer.publish` call. */
export interface PublishOptions {
  /** Required for partitioned streams (e.g. the run id); forbidden otherwise. */
  partition?: string;
  /** Explicit entry id (e.g. `0-<seq>`) for idempotent appends; default `*` (Redis assigns one). */
  id?: string;
  /** Overrides the stream's approximate MAXLEN (an operator setting, e.g. `SKREAVER_MESH_STREAM_MAXLEN`). */
  maxLen?: number;
}

/** A payload checked against a stream schema and serialised, ready for `StreamProducer.append`. */
export interface EncodedEntry {
  readonly schema: StreamDef['schema'];
  readonly json: string;
}

// Redis refuses an explicit id that is not above the stream's top entry; for deterministic ids that means
// "this entry was already appended".
const ID_NOT_ABOVE_TOP = /equal or smaller than the target stream top item/i;

/**
 * An entry to append at an explicit id to one stream and with an auto id to a fan-out stream, as a script's steps:
 * the keys and the XADD arguments (`StreamProducer.fannedOutEntry`).
 */
export interface FannedOutEntry {
  readonly key: string;
  readonly fanOutKey: string;
  readonly maxLen: number;
  readonly fanOutMaxLen: number;
  readonly id: string;
  readonly field: string;
  readonly json: string;
}

/** What `appendFannedOut` did: the entry was new at its id (and fanned out), or the id held `stored` (null: no entry). */
export type FannedOutAppend = { appended: true } | { appended: false; stored: string | null };

// KEYS[1] the stream appended at an explicit id, KEYS[2] the fan-out stream; ARGV: MAXLEN of each, the id, the
// field, the JSON and optionally a TTL in seconds for KEYS[1]. The fan-out XADD (and the TTL) runs only when the first
// one added the entry; when the id was taken, the stored JSON at that id comes back (nothing there: just {0}) for the
// caller to compare.
const APPEND_FANNED_OUT = new RedisScript(`
local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[3], ARGV[4], ARGV[5])
if type(added) == 'table' and added.err then
  if not string.find(string.lower(added.err), 'equal or smaller', 1, true) then return added end
  local stored = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
  if #stored == 0 then return {0} end
  local fields = stored[1][2]
  if fields[1] == ARGV[4] then return {0, fields[2]} end
  return {0}
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', ARGV[4], ARGV[5])
if ARGV[6] then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
return {1}
`);

/** Appends schema-checked entries to Redis streams. */
export class StreamProducer {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  /**
   * Validates `payload` against the stream's schema, then appends it with `XADD key MAXLEN ~ maxLen id data <json>`.
   * Resolves with the new entry id, or `null` when an explicit `id` is not above the stream's top entry
   * (the entry was already appended).
   * @throws ContractViolationError when the payload does not match the stream's schema (nothing is written).
   * @see https://redis.io/docs/latest/commands/xadd/
   */
  async publish<D extends StreamDef>(stream: D, payload: z.input<D['schema']>, options: PublishOptions = {}): Promise<string | null> {
    return this.append(stream, this.encode(stream, payload), options);
  }

  /**
   * Validates and serialises `payload` once, for appending it to several streams of the same schema (`append`).
   * @throws ContractViolationError when the payload does not match the stream's schema.
   */
  encode<D extends StreamDef>(stream: D, payload: z.input<D['schema']>): EncodedEntry {
    const parsed = stream.schema.safeParse(payload);
    if (!parsed.success) {
      throw new ContractViolationError(`stream ${stream.name}.v${stream.version}`, parsed.error.issues);
    }
    // The parsed value, not the input: defaults are applied and unknown keys stripped before anyone reads it.
    return { schema: stream.schema, json: JSON.stringify(parsed.data) };
  }

  /**
   * Serialises a payload our own code built from values already checked (typed as the schema's output), without
   * parsing it again: for the hot paths that would otherwise validate the same value twice. Consumers still parse
   * what they read. Anything from outside (a request, an agent's or tool's result) goes through `encode`.
   */
  encodeOwn<D extends StreamDef>(stream: D, payload: z.output<D['schema']>): EncodedEntry {
    return { schema: stream.schema, json: JSON.stringify(payload) };
  }

  /**
   * Appends an entry `encode` made, like `publish`.
   * @throws Error when `stream` carries another schema than the one the entry was checked against.
   */
  async append(stream: StreamDef, entry: EncodedEntry, options: PublishOptions = {}): Promise<string | null> {
    try {
      return await this.redis.xadd(...this.xaddArgs(stream, entry, options));
    } catch (error) {
      if (options.id !== undefined && error instanceof Error && ID_NOT_ABOVE_TOP.test(error.message)) return null;
      throw error;
    }
  }

  /**
   * `append` for many entries at once, resolving in order with what each `append` would have. On one Redis server
   * they go in one pipeline (one socket write for all); on a cluster, whose pipelines must stay on one node, as
   * separate commands sent together. Either way they reach a server in the order given.
   */
  async appendMany(appends: readonly { stream: StreamDef; entry: EncodedEntry; options?: PublishOptions }[]): Promise<(string | null)[]> {
    if (isCluster(this.redis)) return Promise.all(appends.map(({ stream, entry, options }) => this.append(stream, entry, options)));
    const pipeline = this.redis.pipeline();
    for (const { stream, entry, options } of appends) this.appendIn(pipeline, stream, entry, options);
    const results = (await pipeline.exec()) ?? [];
    return appends.map(({ options = {} }, i) => {
      const [error, id] = results[i] ?? [new Error('missing pipeline reply'), null];
      if (!error) return typeof id === 'string' ? id : null;
      if (options.id !== undefined && ID_NOT_ABOVE_TOP.test(error.message)) return null;
      throw error;
    });
  }

  /**
   * Appends `entry` to `stream` at the explicit `options.id` and, only when that entry is new there, to `fanOut` (auto
   * id): one round trip (a script) on a single server, where the two keys may share a script; two commands on a Redis
   * Cluster, where their slots differ. When the id was taken, resolves with the JSON stored at it (null: none) and
   * appends nothing to `fanOut`: whether that is the same entry is the caller's call. With `ttlSeconds`, `stream`
   * expires that long after a new entry, in the same round trip (not when the id was taken).
   * @throws Error when either stream carries another schema than the one the entry was checked against.
   */
  async appendFannedOut(
    stream: StreamDef,
    fanOut: StreamDef,
    entry: EncodedEntry,
    options: { partition?: string; id: string; fanOutMaxLen?: number; ttlSeconds?: number },
  ): Promise<FannedOutAppend> {
    if (entry.schema !== stream.schema || entry.schema !== fanOut.schema) throw new Error(`entry was not encoded for stream ${stream.name}.v${stream.version}`);
    const key = streamKey(stream, this.keyPrefix, options.partition);
    if (isCluster(this.redis)) {
      if ((await this.append(stream, entry, options)) === null) {
        const [stored] = await this.redis.xrange(key, options.id, options.id);
        const fields = stored?.[1] ?? [];
        return { appended: false, stored: fields[0] === PAYLOAD_FIELD ? (fields[1] ?? null) : null };
      }
      await this.append(fanOut, entry, { maxLen: options.fanOutMaxLen });
      if (options.ttlSeconds !== undefined) await this.redis.expire(key, options.ttlSeconds);
      return { appended: true };
    }
    const fanOutKey = streamKey(fanOut, this.keyPrefix);
    const args = [stream.maxLen, options.fanOutMaxLen ?? fanOut.maxLen, options.id, PAYLOAD_FIELD, entry.json];
    if (options.ttlSeconds !== undefined) args.push(options.ttlSeconds);
    const reply = (await APPEND_FANNED_OUT.run(this.redis, [key, fanOutKey], args)) as [number, string?];
    return reply[0] === 1 ? { appended: true } : { appended: false, stored: reply[1] ?? null };
  }

  /**
   * `entry` as a script appends it to `stream` at `options.id` and to `fanOut` (`FannedOutEntry`), for a script that
   * does more in the same call (a new run's admission, `AgentRunSlots.admitNew`). The keys share a script only on a
   * single server.
   * @throws Error when either stream carries another schema than the one the entry was checked against.
   */
  fannedOutEntry(stream: StreamDef, fanOut: StreamDef, entry: EncodedEntry, options: { partition?: string; id: string; fanOutMaxLen?: number }): FannedOutEntry {
    if (entry.schema !== stream.schema || entry.schema !== fanOut.schema) throw new Error(`entry was not encoded for stream ${stream.name}.v${stream.version}`);
    return {
      key: streamKey(stream, this.keyPrefix, options.partition),
      fanOutKey: streamKey(fanOut, this.keyPrefix),
      maxLen: stream.maxLen,
      fanOutMaxLen: options.fanOutMaxLen ?? fanOut.maxLen,
      id: options.id,
      field: PAYLOAD_FIELD,
      json: entry.json,
    };
  }

  /**
   * Queues the XADD of `append` on `pipeline` (one of this producer's connection), for callers that send several
   * commands in one round trip; its reply there is the entry id, or an error (also for an explicit `id` that is not
   * above the stream's top entry, which `append` answers with null).
   */
  appendIn(pipeline: ChainableCommander, stream: StreamDef, entry: EncodedEntry, options: PublishOptions = {}): void {
    pipeline.xadd(...this.xaddArgs(stream, entry, options));
  }

  private xaddArgs(stream: StreamDef, entry: EncodedEntry, options: PublishOptions): [string, 'MAXLEN', '~', number, string, string, string] {
    if (entry.schema !== stream.schema) throw new Error(`entry was not encoded for stream ${stream.name}.v${stream.version}`);
    const key = streamKey(stream, this.keyPrefix, options.partition);
    return [key, 'MAXLEN', '~', options.maxLen ?? stream.maxLen, options.id ?? '*', PAYLOAD_FIELD, entry.json];
  }

  /** Makes a (partition of a) stream expire `seconds` from now, e.g. a finished run's log once it is archived. */
  async expire(stream: StreamDef, options: { partition?: string }, seconds: number): Promise<void> {
    await this.redis.expire(streamKey(stream, this.keyPrefix, options.partition), seconds);
  }

  /**
   * Deletes up to `limit` of the oldest entries of an auto-id stream added before `beforeMs` (epoch ms), e.g. the
   * dead letters past their retention: the ids of the oldest `limit` entries before it are read with XRANGE, then
   * `XTRIM MINID =` just above the last one, so one call is bounded however much has expired. @returns how many.
   * @see https://redis.io/docs/latest/commands/xtrim/
   */
  async trimBefore(stream: StreamDef, options: { partition?: string }, beforeMs: number, limit: number): Promise<number> {
    if (beforeMs <= 0 || limit <= 0) return 0;
    const key = streamKey(stream, this.keyPrefix, options.partition);
    const oldest = await this.redis.xrange(key, '-', String(beforeMs - 1), 'COUNT', limit);
    const last = oldest[oldest.length - 1];
    if (!last) return 0;
    const [ms, seq] = last[0].split('-');
    return this.redis.xtrim(key, 'MINID', '=', `${ms}-${Number(seq) + 1}`);
  }
}
