import { ApiError } from '@skreaver/http';

/** Where a newest-first list page ended: the (created_at, id) of its last item. */
export interface ListCursor {
  created_at: string;
  id: string;
}

/** The opaque `next_cursor` of a page ending with `last`. */
export function encodeListCursor(last: ListCursor): string {
  return Buffer.from(`${last.created_at}|${last.id}`).toString('base64url');
}

/** The position a `cursor` from `next_cursor` names; 400 `validation_failed` when it is not one. */
export function decodeListCursor(cursor: string): ListCursor {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id) throw new ApiError(400, 'validation_failed', 'Invalid request query', [{ path: 'cursor', message: 'not a cursor from next_cursor' }]);
  return { created_at: createdAt, id };
}

/** `next_cursor` of a page of at most `limit` items: null once a page comes back short (there is no more). */
export function nextListCursor(items: readonly ListCursor[], limit: number): string | null {
  const last = items[items.length - 1];
  return items.length === limit && last ? encodeListCursor(last) : null;
}
