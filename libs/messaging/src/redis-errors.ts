import type { DependencyOutage } from '@skreaver/util';

// Socket-level failures reaching Redis (ioredis surfaces the Node error code as-is).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

// ioredis' own errors for a connection that is down, closed or being re-established.
const UNAVAILABLE_MESSAGES = ["Stream isn't writeable", 'Connection is closed'];
const UNAVAILABLE_ERROR_NAMES = new Set(['MaxRetriesPerRequestError']);

// Replies of a Redis that is up but cannot serve yet: loading its AOF/RDB after a restart, a replica promoted or
// demoted mid-failover, a busy script, a cluster without quorum. They clear up on their own.
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|BUSY)\b/;

/**
 * Whether `error` means Redis could not be reached or used right now (a retry later may succeed), as opposed to a
 * bad command, a wrong type or a script error. Looks through `cause`.
 */
export function isRedisUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 5; depth += 1) {
    const { code, name, message, cause } = current as Record<'code' | 'name' | 'message' | 'cause', unknown>;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (typeof name === 'string' && UNAVAILABLE_ERROR_NAMES.has(name)) return true;
    if (typeof message === 'string' && (UNAVAILABLE_MESSAGES.some((text) => message.startsWith(text)) || TRANSIENT_REPLY.test(message))) {
      return true;
    }
    current = cause;
  }
  return false;
}

/** Redis being down, for the HTTP services' exception filter: 503 `redis_unavailable` on any route that meets it. */
export const redisOutage: DependencyOutage = {
  code: 'redis_unavailable',
  message: 'Redis is unavailable; retry later',
  matches: isRedisUnavailable,
};
