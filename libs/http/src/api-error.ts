import type { ApiErrorCode } from '@skreaver/contracts';

/** An error meant for the client: it carries the HTTP status and the stable code it is answered with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ApiError';
  }

  static notFound(what: string): ApiError {
    return new ApiError(404, 'not_found', `${what} not found`);
  }

  /** A retryable 503; `cause` (the dependency's own error) goes to the server log, never to the client. */
  static unavailable(code: 'database_unavailable' | 'queue_unavailable' | 'redis_unavailable', message: string, cause?: unknown): ApiError {
    return new ApiError(503, code, message, undefined, cause === undefined ? undefined : { cause });
  }
}
