import type { ApiErrorCode } from './contracts';

/**
 * `code` of an error the SDK raises itself, besides the API's own codes (docs/api.md#errors):
 * `network_error` (no answer: connection refused or cut, DNS), `invalid_response` (an answer that is not the API's
 * JSON, e.g. from a proxy), `stream_ended` (a live stream that could not be resumed within its attempts).
 */
export type ClientErrorCode = 'network_error' | 'invalid_response' | 'stream_ended';

/** Every error a call rejects with (an aborted call rejects with its signal's reason instead). */
export class SkreaverError extends Error {
  override readonly name = 'SkreaverError';
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number;
  /** The API's `error` code (`not_found`, `rate_limited`, …) or a {@link ClientErrorCode}. */
  readonly code: ApiErrorCode | ClientErrorCode | (string & {});
  /** The API's `request_id` (also `X-Request-Id`); empty when no answer arrived. */
  readonly requestId: string;
  /** The API's `details` (e.g. `[{path, message}]` for `validation_failed`). */
  readonly details: unknown;
  /** Seconds the server asked to wait (`Retry-After` / `RateLimit-Reset`), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: { status: number; code: string; message: string; requestId?: string; details?: unknown; retryAfterSeconds?: number; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId ?? '';
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** Seconds to wait before retrying, from `Retry-After` (seconds or an HTTP date) or else `RateLimit-Reset`. */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Number(retryAfter);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, (date - now) / 1000);
  }
  const reset = headers.get('ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) return Number(reset);
  return undefined;
}

/** The error an answer with a non-2xx status stands for, from the API's error body when it has one. */
export async function errorFromResponse(response: Response): Promise<SkreaverError> {
  const headerId = response.headers.get('x-request-id') ?? '';
  const retryAfter = retryAfterSeconds(response.headers);
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The body could not be read (connection cut): the status still says what happened.
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    const api = body as { error: string; message?: unknown; request_id?: unknown; details?: unknown };
    return new SkreaverError({
      status: response.status,
      code: api.error,
      message: typeof api.message === 'string' ? api.message : api.error,
      requestId: typeof api.request_id === 'string' ? api.request_id : headerId,
      details: api.details,
      retryAfterSeconds: retryAfter,
    });
  }
  return new SkreaverError({
    status: response.status,
    code: 'invalid_response',
    message: `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    requestId: headerId,
    retryAfterSeconds: retryAfter,
  });
}

/** Whether `error` is the rejection of an aborted signal (the caller's, not a network failure). */
export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}
