import type { IncomingHttpHeaders } from 'node:http';

import { AuthError, AuthUnavailableError } from '@skreaver/auth';
import type { Credentials } from '@skreaver/auth';
import { ApiError } from '@skreaver/http';
import { isDatabaseUnavailable } from '@skreaver/persistence';

/** The credential headers of a request. @throws AuthError `malformed` when one is repeated. */
export function credentialsOf(headers: IncomingHttpHeaders): Credentials {
  const apiKey = headers['x-api-key'];
  if (Array.isArray(apiKey)) throw new AuthError('malformed', 'X-API-Key given more than once');
  return {
    ...(headers.authorization === undefined ? {} : { authorization: headers.authorization }),
    ...(apiKey === undefined ? {} : { apiKey }),
  };
}

/**
 * Maps an authentication failure to its HTTP answer: a refused credential is 401 `unauthorized` with the reason;
 * an unreadable key store or denylist is a retryable 503, never a 401 that would send clients to re-authenticate.
 */
export function toHttpError(error: unknown): unknown {
  if (error instanceof AuthError) return new ApiError(401, 'unauthorized', error.message, { reason: error.reason });
  if (error instanceof AuthUnavailableError) {
    if (error.dependency === 'revocation_list') {
      return ApiError.unavailable('redis_unavailable', 'Tokens cannot be checked right now; retry later or use an API key', error.cause);
    }
    if (isDatabaseUnavailable(error.cause)) {
      return ApiError.unavailable('database_unavailable', 'API keys cannot be checked right now; retry later', error.cause);
    }
    return error.cause;
  }
  return error;
}
