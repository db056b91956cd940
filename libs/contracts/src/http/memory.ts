import { z } from 'zod';

import { AgentId, JsonValue, Timestamp } from '../common';

/** Longest TTL a memory entry may have: one year, in seconds. */
export const MEMORY_TTL_MAX_SECONDS = 31_536_000;

/** Most entries one page of `GET /agents/{id}/memory` returns. */
export const MEMORY_PAGE_MAX_LIMIT = 1000;

// ASCII only and URL-safe, so a key needs no escaping in a path and sorts the same (bytewise) in every database.
const MEMORY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;

/** A memory key: 1–256 of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit. */
export const MemoryKey = z
  .string()
  .regex(MEMORY_KEY_PATTERN, '1-256 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit');
export type MemoryKey = z.infer<typeof MemoryKey>;

/** Path parameters of `/agents/{id}/memory/{key}`. */
export const MemoryEntryParams = z.object({ id: AgentId, key: MemoryKey });
export type MemoryEntryParams = z.infer<typeof MemoryEntryParams>;

/** Body of `PUT /agents/{id}/memory/{key}`: the value replaces any previous one, TTL included (none when omitted). */
export const PutMemoryRequest = z.strictObject({
  value: JsonValue,
  ttl_seconds: z.number().int().min(1).max(MEMORY_TTL_MAX_SECONDS).optional(),
});
export type PutMemoryRequest = z.infer<typeof PutMemoryRequest>;

/** A memory entry as the API returns it; `size_bytes` is the UTF-8 length of the value's JSON. */
export const MemoryEntry = z.object({
  key: MemoryKey,
  value: JsonValue,
  size_bytes: z.number().int().nonnegative(),
  created_at: Timestamp,
  updated_at: Timestamp,
  expires_at: Timestamp.nullable(),
});
export type MemoryEntry = z.infer<typeof MemoryEntry>;

/**
 * Query of `GET /agents/{id}/memory`: live entries whose key starts with `prefix` (taken literally) and sorts
 * after `after`, at most `limit`, in key order.
 */
export const MemoryListQuery = z.strictObject({
  // Any printable text: a prefix holding characters no key can hold simply matches nothing.
  prefix: z
    .string()
    .max(256)
    .regex(/^\P{Cc}*$/u, 'no control characters')
    .optional(),
  after: MemoryKey.optional(),
  limit: z.coerce.number().int().min(1).max(MEMORY_PAGE_MAX_LIMIT).default(100),
});
export type MemoryListQuery = z.infer<typeof MemoryListQuery>;

/** A page of an agent's memory in key order; pass `next_after` as `after` for the next page (null: no more). */
export const MemoryPage = z.object({
  items: z.array(MemoryEntry),
  next_after: MemoryKey.nullable(),
});
export type MemoryPage = z.infer<typeof MemoryPage>;

const utf8 = new TextEncoder();

/** The size a memory value counts for against the limit: UTF-8 bytes of its compact JSON. */
export function memoryValueSizeBytes(value: JsonValue): number {
  return utf8.encode(JSON.stringify(value)).length;
}
