import { createHash } from 'node:crypto';

import { type RedisClient, createRedis } from '@skreaver/messaging';

/** One bucket after counting a request against it. */
export interface RateLimitState {
  allowed: boolean;
  limit: number;
  /** Requests still allowed right now. */
  remaining: number;
  /** Seconds until the whole limit is available again. */
  resetSeconds: number;
  /** Seconds until a refused request would be let through; 0 when allowed. */
  retryAfterSeconds: number;
}

/** What a bucket counts: a client address or an authenticated subject. */
export type RateLimitScope = 'ip' | 'subject';

// GCRA (the generic cell rate algorithm), atomically in one script, on Redis' clock (replicas' clocks may differ).
// A bucket is one key holding the "theoretical arrival time" (TAT, µs) at which it would be empty again. Each request
// moves TAT forward by window / limit; a request that would push TAT more than one window ahead of now is refused
// and changes nothing. Chosen over a fixed window because it has no window boundary where a client can send twice
// the limit back to back, and no instant at which every client's quota resets at once; the state is one small key
// that expires as soon as the bucket is full again. Limit N per window W means: bursts of up to N, then one request
// every W/N.
// KEYS[1] bucket; ARGV[1] limit; ARGV[2] window in ms. Returns {allowed 0|1, remaining, reset ms, retry-after ms}.
const GCRA = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local interval = window / limit
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local candidate = tat + interval
if candidate - now > window then
  return {0, 0, math.ceil((tat - now) / 1000), math.ceil((candidate - now - window) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%.0f', candidate), 'PX', math.max(1, math.ceil((candidate - now) / 1000)))
return {1, math.floor((window - (candidate - now)) / interval + 0.000001), math.ceil((candidate - now) / 1000), 0}
`;
const GCRA_SHA = createHash('sha1').update(GCRA).digest('hex');

// A limiter must never be what makes a request slow: past this a hung Redis counts as down (and the limiter fails open).
const COMMAND_TIMEOUT_MS = 250;
// At boot, how long to wait for the connection before the first requests (which would otherwise go uncounted).
const READY_WAIT_MS = 1_000;

/**
 * Rate-limit buckets in Redis, shared by every agent-api replica. Keys are `<prefix>:ratelimit:{<scope>:<id>}`:
 * the braces are the Redis Cluster hash tag, so each bucket lives in one slot and the script runs on one node.
 *
 * The connection is its own, with the offline queue off and a command timeout: while Redis is unreachable a
 * command fails at once instead of waiting in a queue (the shared connection queues, which is right for work that
 * must happen, and wrong for a per-request check that can be skipped).
 */
export class RateLimitStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  /** The connection to give a store: no offline queue, no retry of a failed command, a 250 ms command timeout. */
  static connect(url: string, connectionName: string): RedisClient {
    // Failures surface as rejected commands, which the limiter counts and logs; the error events would only repeat
    // them (createRedis listens, so none goes unhandled).
    return createRedis(url, { connectionName, commandTimeoutMs: COMMAND_TIMEOUT_MS });
  }

  /**
   * Counts one request against the bucket of `scope` + `id`, allowing `limit` per `windowMs`.
   * @throws Error when Redis cannot be reached or answers something unexpected.
   */
  async take(scope: RateLimitScope, id: string, limit: number, windowMs: number): Promise<RateLimitState> {
    const key = `${this.keyPrefix}:ratelimit:{${scope}:${id}}`;
    const reply = await this.evaluate(key, String(limit), String(windowMs));
    if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((value) => typeof value === 'number')) {
      throw new Error(`unexpected rate-limit script reply: ${JSON.stringify(reply)}`);
    }
    const [allowed, remaining, resetMs, retryAfterMs] = reply as [number, number, number, number];
    return {
      allowed: allowed === 1,
      limit,
      remaining,
      resetSeconds: Math.ceil(resetMs / 1000),
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(retryAfterMs / 1000)),
    };
  }

  /** Waits (at most 1 s) for the connection, so the first requests after boot are counted. */
  async onModuleInit(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, READY_WAIT_MS);
      this.redis.once('ready', done);
    });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }

  private async evaluate(key: string, ...args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(GCRA_SHA, 1, key, ...args);
    } catch (error) {
      // After a Redis restart (or on a new replica of it) the script cache is empty: send the script itself once.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return this.redis.eval(GCRA, 1, key, ...args);
      throw error;
    }
  }
}
