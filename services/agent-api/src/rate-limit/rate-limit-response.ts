import type { ServerResponse } from 'node:http';

import { ApiError } from '@skreaver/http';

import type { RateLimitVerdict } from './rate-limiter.service';

// The verdict whose headers a request carries, a field of the raw Node request under a symbol only this module holds:
// gone with it, and no WeakMap entry (an ephemeron for the garbage collector) per request.
const SHOWN = Symbol('skreaver.rateLimitShown');

interface WithShownVerdict {
  [SHOWN]?: RateLimitVerdict;
}

/**
 * Applies a verdict to the response: `RateLimit-Limit`, `-Remaining` and `-Reset` of the most restrictive limit
 * counted so far (the address limit, then the subject limit), and for a refusal `Retry-After` and a 429.
 * Headers go on the raw response because streaming handlers hijack the reply and write their own head; Node
 * merges headers set this way into whatever head is written.
 * @throws ApiError 429 `rate_limited` when the verdict refuses the request.
 */
export function enforceRateLimit(request: object, response: ServerResponse, verdict: RateLimitVerdict): void {
  const previous = (request as WithShownVerdict)[SHOWN];
  const display = previous && previous.remaining < verdict.remaining && verdict.allowed ? previous : verdict;
  (request as WithShownVerdict)[SHOWN] = display;
  response.setHeader('ratelimit-limit', String(display.limit));
  response.setHeader('ratelimit-remaining', String(display.remaining));
  response.setHeader('ratelimit-reset', String(display.resetSeconds));
  if (verdict.allowed) return;

  response.setHeader('retry-after', String(verdict.retryAfterSeconds));
  const who = verdict.scope === 'ip' ? 'this client address' : 'this credential';
  throw new ApiError(
    429,
    'rate_limited',
    `Rate limit of ${verdict.limit} requests per ${verdict.windowSeconds} s exceeded for ${who}; retry in ${verdict.retryAfterSeconds} s`,
    { scope: verdict.scope, limit: verdict.limit, window_seconds: verdict.windowSeconds, retry_after_seconds: verdict.retryAfterSeconds },
  );
}
