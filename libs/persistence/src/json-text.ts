import type { JsonValue } from '@skreaver/contracts';

// JSON lives in TEXT columns (not jsonb) so one migration serves SQLite and PostgreSQL.

export function toJsonText(value: JsonValue): string {
  return JSON.stringify(value);
}

export function fromJsonText(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}

/** SQL NULL reads back as JSON `null`, so a nullable column and a stored `null` are indistinguishable by design. */
export function fromNullableJsonText(text: string | null): JsonValue {
  return text === null ? null : fromJsonText(text);
}
