import type { StreamDef, StreamPayload } from '@skreaver/contracts';

import { ContractViolationError } from './contract-violation.error';
import type { RedisClient } from './redis-connection';

/** One parsed entry of a stream. */
export interface StreamEntry<D extends StreamDef> {
  /** Redis entry id, `<ms>-<seq>`. */
  readonly id: string;
  readonly payload: StreamPayload<D>;
  /**
   * Length of the payload's JSON as stored in Redis, where the reader had it at hand (`StreamTailer`): a size for
   * callers that bound what they keep, without serialising the payload again.
   */
  readonly jsonLength?: number;
}

/** An entry as Redis returns it; `fields` is null for an entry deleted while it was pending in a group. */
export type RawStreamEntry = readonly [id: string, fields: readonly string[] | null];

/** The field an entry's JSON payload is stored under. */
export const PAYLOAD_FIELD = 'data';

export type DecodeResult<D extends StreamDef> =
  | { readonly ok: true; readonly payload: StreamPayload<D>; readonly jsonLength: number }
  | { readonly ok: false; readonly error: Error };

/** Parses an entry's `data` field as JSON and then with the stream's schema. */
export function decodeEntry<D extends StreamDef>(stream: D, fields: readonly string[] | null): DecodeResult<D> {
  const raw = fields ? fieldsToRecord(fields)[PAYLOAD_FIELD] : undefined;
  if (raw === undefined) return { ok: false, error: new Error(`entry has no "${PAYLOAD_FIELD}" field`) };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, error: new Error(`"${PAYLOAD_FIELD}" is not JSON: ${errorMessage(error)}`) };
  }
  const parsed = stream.schema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, error: new ContractViolationError(`stream ${stream.name}.v${stream.version}`, parsed.error.issues) };
  }
  // safeParse on a generic schema is typed `unknown`; its output is StreamPayload<D> by definition.
  return { ok: true, payload: parsed.data as StreamPayload<D>, jsonLength: raw.length };
}

/** `[k1, v1, k2, v2…]` → `{ k1: v1, k2: v2 }`. */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  return record;
}

/**
 * Narrows an XREAD/XREADGROUP reply (`[[key, [[id, fields], …]]]` or null) to the entries of its first stream.
 * ioredis types XREADGROUP as `unknown[]`, so the shape is checked rather than cast.
 */
export function entriesOfReadReply(reply: unknown): RawStreamEntry[] {
  if (reply === null || reply === undefined) return [];
  if (!Array.isArray(reply)) throw new Error('unexpected XREAD reply: not an array');
  const first: unknown = reply[0];
  if (first === undefined) return [];
  if (!Array.isArray(first)) throw new Error('unexpected XREAD reply: stream item is not an array');
  return toRawEntries(first[1]);
}

/** Narrows a list of `[id, fields | null]` pairs. */
export function toRawEntries(value: unknown): RawStreamEntry[] {
  if (!Array.isArray(value)) throw new Error('unexpected stream reply: entries are not an array');
  return value.map((item: unknown): RawStreamEntry => {
    if (!Array.isArray(item) || typeof item[0] !== 'string') throw new Error('unexpected stream reply: malformed entry');
    const fields: unknown = item[1];
    if (fields === null) return [item[0], null];
    if (!Array.isArray(fields) || !fields.every((field): field is string => typeof field === 'string')) {
      throw new Error(`unexpected stream reply: malformed fields of entry ${item[0]}`);
    }
    return [item[0], fields];
  });
}

/**
 * Narrows an XAUTOCLAIM reply: the next cursor, the entries claimed, and (Redis 7) the ids of pending entries that
 * were deleted from the stream, which Redis drops from the group's pending list.
 */
export function parseAutoclaimReply(reply: unknown): [cursor: string, entries: RawStreamEntry[], deleted: string[]] {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') throw new Error('unexpected XAUTOCLAIM reply');
  const deleted: unknown = reply[2];
  return [reply[0], toRawEntries(reply[1]), Array.isArray(deleted) ? deleted.filter((id): id is string => typeof id === 'string') : []];
}

/** Creates `group` on `key` from its first entry (and the stream if missing); a group that exists is left as it is. */
export async function createConsumerGroup(redis: RedisClient, key: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!errorMessage(error).startsWith('BUSYGROUP')) throw error;
  }
}

/** The message of an unknown thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
