import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

import { ApiError } from '@skreaver/http';

import { enforceRateLimit } from './rate-limit-response';
import type { RateLimitVerdict } from './rate-limiter.service';

const VerdictFactory = {
  create(overrides: Partial<RateLimitVerdict> = {}): RateLimitVerdict {
    return { allowed: true, limit: 600, remaining: 599, resetSeconds: 1, retryAfterSeconds: 0, scope: 'subject', windowSeconds: 60, ...overrides };
  },
};

function newExchange() {
  const request = new IncomingMessage(new Socket());
  return { request, response: new ServerResponse(request) };
}

describe(enforceRateLimit.name, () => {
  it('should set the three RateLimit headers of an allowed request', () => {
    const { request, response } = newExchange();

    enforceRateLimit(request, response, VerdictFactory.create({ limit: 10, remaining: 7, resetSeconds: 18 }));

    expect(response.getHeaders()).toEqual({ 'ratelimit-limit': '10', 'ratelimit-remaining': '7', 'ratelimit-reset': '18' });
  });

  it('should keep showing the limit closest to running out', () => {
    const { request, response } = newExchange();

    enforceRateLimit(request, response, VerdictFactory.create({ scope: 'ip', limit: 1200, remaining: 3 }));
    enforceRateLimit(request, response, VerdictFactory.create({ scope: 'subject', limit: 600, remaining: 500 }));

    expect(response.getHeader('ratelimit-limit')).toBe('1200');
    expect(response.getHeader('ratelimit-remaining')).toBe('3');
  });

  it('should refuse with 429 rate_limited, Retry-After and the refusing limit in the headers', () => {
    const { request, response } = newExchange();
    enforceRateLimit(request, response, VerdictFactory.create({ scope: 'ip', limit: 1200, remaining: 1 }));

    const refusal = VerdictFactory.create({ allowed: false, limit: 6, remaining: 0, resetSeconds: 60, retryAfterSeconds: 10 });
    let thrown: unknown;
    try {
      enforceRateLimit(request, response, refusal);
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ApiError);
    expect(thrown).toMatchObject({ status: 429, code: 'rate_limited', details: { scope: 'subject', limit: 6, window_seconds: 60, retry_after_seconds: 10 } });
    expect(response.getHeaders()).toEqual({ 'ratelimit-limit': '6', 'ratelimit-remaining': '0', 'ratelimit-reset': '60', 'retry-after': '10' });
  });
});
