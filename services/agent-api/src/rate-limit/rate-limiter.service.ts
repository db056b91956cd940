import { Inject, Injectable } from '@nestjs/common';
import { JsonLogger, counter } from '@skreaver/observability';

import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';
import { clientAddress } from './client-address';
import { RateLimitStore } from './rate-limit.store';
import type { AdmissionState, RateLimitScope, RateLimitState } from './rate-limit.store';

// One warning per outage is enough to page someone; one per request would drown the log.
const WARNING_INTERVAL_MS = 30_000;

const limiterErrors = counter({
  name: 'skreaver_rate_limit_errors_total',
  help: 'Rate-limit checks that could not reach Redis and let the request through unlimited',
  labelNames: ['scope'],
});
const limited = counter({
  name: 'skreaver_rate_limited_total',
  help: 'Requests refused with 429 rate_limited, by the limit they exceeded (ip or subject)',
  labelNames: ['scope'],
});

/** A rate-limit verdict and the limit it was counted against. */
export interface RateLimitVerdict extends RateLimitState {
  scope: RateLimitScope;
  windowSeconds: number;
}

/** The token a request carries, as the one-trip admission checks it. */
export interface AdmittedToken {
  subject: string;
  /** TokenDenylist.keysOf the token. */
  revocationKeys: readonly [string, string, string];
  issuedAt: number;
}

/** The outcome of `RateLimiter.admit`: verdicts of the limits counted, and the token's denylist entries if read. */
export interface Admission {
  ip: RateLimitVerdict | null;
  revocation: AdmissionState['revocation'];
  subject: RateLimitVerdict | null;
}

/** Decides whether a client address or a subject may make one more request, from the shared buckets in Redis. */
@Injectable()
export class RateLimiter {
  private lastWarningAt = Number.NEGATIVE_INFINITY;
  private failuresSinceWarning = 0;

  constructor(
    private readonly store: RateLimitStore,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * Counts a request from the client at `peer` (or, behind a trusted proxy, the address it forwarded).
   * Null when the request is not limited: the limit is 0, or Redis could not be asked.
   */
  forClient(peer: string | undefined, forwardedFor: string | string[] | undefined): Promise<RateLimitVerdict | null> {
    const address = clientAddress(peer, forwardedFor, this.config.SKREAVER_TRUST_PROXY);
    return this.take('ip', address, this.config.SKREAVER_RATE_LIMIT_PER_IP);
  }

  /** Counts a request of an authenticated subject; null when not limited (as `forClient`). */
  forSubject(subject: string): Promise<RateLimitVerdict | null> {
    return this.take('subject', subject, this.config.SKREAVER_RATE_LIMIT_PER_SUBJECT);
  }

  /** Whether `admit` can be asked (not on a Redis Cluster, see RateLimitStore.admitsInOneTrip). */
  get admitsInOneTrip(): boolean {
    return this.store.admitsInOneTrip;
  }

  /**
   * Everything `forClient`, the token denylist and `forSubject` would check for a request with an access token, in
   * one Redis round trip (RateLimitStore.admit). Null when Redis could not be asked: the failure is counted and
   * warned about as an address-limit failure, and the caller falls back to the checks one by one.
   */
  async admit(peer: string | undefined, forwardedFor: string | string[] | undefined, token: AdmittedToken): Promise<Admission | null> {
    const windowSeconds = this.config.SKREAVER_RATE_LIMIT_WINDOW_SECONDS;
    try {
      const state = await this.store.admit({
        ip: { id: clientAddress(peer, forwardedFor, this.config.SKREAVER_TRUST_PROXY), limit: this.config.SKREAVER_RATE_LIMIT_PER_IP },
        subject: { id: token.subject, limit: this.config.SKREAVER_RATE_LIMIT_PER_SUBJECT },
        windowMs: windowSeconds * 1000,
        revocationKeys: token.revocationKeys,
        issuedAt: token.issuedAt,
      });
      return {
        ip: state.ip ? this.verdict('ip', state.ip, windowSeconds) : null,
        revocation: state.revocation,
        subject: state.subject ? this.verdict('subject', state.subject, windowSeconds) : null,
      };
    } catch (error) {
      limiterErrors.inc({ scope: 'ip' });
      this.warn(error);
      return null;
    }
  }

  private verdict(scope: RateLimitScope, state: RateLimitState, windowSeconds: number): RateLimitVerdict {
    if (!state.allowed) limited.inc({ scope });
    // Field by field rather than a spread: one or two verdicts per request, and the spread took V8's generic
    // object-copy path (3–4 % of agent-api's busy time on `GET /agents/{id}` in the profile).
    return {
      allowed: state.allowed,
      limit: state.limit,
      remaining: state.remaining,
      resetSeconds: state.resetSeconds,
      retryAfterSeconds: state.retryAfterSeconds,
      scope,
      windowSeconds,
    };
  }

  private async take(scope: RateLimitScope, id: string, limit: number): Promise<RateLimitVerdict | null> {
    if (limit === 0) return null;
    const windowSeconds = this.config.SKREAVER_RATE_LIMIT_WINDOW_SECONDS;
    try {
      return this.verdict(scope, await this.store.take(scope, id, limit, windowSeconds * 1000), windowSeconds);
    } catch (error) {
      // Fail open: the limits protect capacity, not access (authentication and roles are checked regardless, and
      // the in-flight cap still bounds the load). Failing closed would turn a Redis outage into a total API outage,
      // although reads of agents, memory and runs, and API keys, work without Redis.
      limiterErrors.inc({ scope });
      this.warn(error);
      return null;
    }
  }

  private warn(error: unknown): void {
    this.failuresSinceWarning += 1;
    const now = Date.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) return;
    this.logger.write(
      'warn',
      'Rate limiter cannot reach Redis; requests pass unlimited until it is back',
      { error: error instanceof Error ? error.message : String(error), failures: this.failuresSinceWarning },
      'rate_limit',
    );
    this.lastWarningAt = now;
    this.failuresSinceWarning = 0;
  }
}
