
import { type RedisClient, RedisScript, createRedis } from '@skreaver/messaging';

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
// `gcra(key, limit, window ms, now µs)` returns {allowed 0|1, remaining, reset ms, retry-after ms}.
const GCRA_FUNCTION = `
local function gcra(key, limit, windowMs, now)
  local window = windowMs * 1000
  local interval = window / limit
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local candidate = tat + interval
  if candidate - now > window then
    return {0, 0, math.ceil((tat - now) / 1000), math.ceil((candidate - now - window) / 1000)}
  end
  redis.call('SET', key, string.format('%.0f', candidate), 'PX', math.max(1, math.ceil((candidate - now) / 1000)))
  return {1, math.floor((window - (candidate - now)) / interval + 0.000001), math.ceil((candidate - now) / 1000), 0}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
`;

// KEYS[1] bucket; ARGV[1] limit; ARGV[2] window in ms. Returns {allowed 0|1, remaining, reset ms, retry-after ms}.
const GCRA = new RedisScript(`${GCRA_FUNCTION}
return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now)
`);

// The whole admission of a request with an access token, in the order agent-api checks it one by one (see `admit`):
// the address bucket; then the token's denylist entries (TokenDenylist's keys); then, only for a token that is not
// revoked, the subject bucket. A request refused at a step is not counted at the later ones.
// Per request, KEYS: address bucket, denied, tenant cut-off, subject cut-off, subject bucket; ARGV: address limit (0:
// not limited), window ms, the token's iat, subject limit (0: not limited). The script admits every request whose
// keys and arguments follow one another (5 keys and 4 arguments each), in that order, at one instant of Redis' clock.
// Returns one reply per request: {step, address verdict (4), denied 0|1, tenant cut-off, subject cut-off, subject
// verdict (4)}, where step is 0 when the address limit refused, 1 when the token is revoked, 2 when the subject was
// counted (or is not limited).
const KEYS_PER_ADMISSION = 5;
const ARGS_PER_ADMISSION = 4;
const ADMIT = new RedisScript(`${GCRA_FUNCTION}
local function admit(k, a)
  local window = tonumber(ARGV[a + 2])
  local ip = {1, 0, 0, 0}
  if tonumber(ARGV[a + 1]) > 0 then
    ip = gcra(KEYS[k + 1], tonumber(ARGV[a + 1]), window, now)
    if ip[1] == 0 then return {0, ip[1], ip[2], ip[3], ip[4]} end
  end
  local cuts = redis.call('MGET', KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
  local denied = 0
  if cuts[1] then denied = 1 end
  local cutoff = math.max(tonumber(cuts[2] or '') or -math.huge, tonumber(cuts[3] or '') or -math.huge)
  if denied == 1 or tonumber(ARGV[a + 3]) <= cutoff then
    return {1, ip[1], ip[2], ip[3], ip[4], denied, cuts[2], cuts[3]}
  end
  local subject = {1, 0, 0, 0}
  if tonumber(ARGV[a + 4]) > 0 then subject = gcra(KEYS[k + 5], tonumber(ARGV[a + 4]), window, now) end
  return {2, ip[1], ip[2], ip[3], ip[4], denied, cuts[2], cuts[3], subject[1], subject[2], subject[3], subject[4]}
end
local replies = {}
for i = 0, #KEYS / ${KEYS_PER_ADMISSION} - 1 do replies[i + 1] = admit(i * ${KEYS_PER_ADMISSION}, i * ${ARGS_PER_ADMISSION}) end
return replies
`);

/** A bucket to count a request against in `admit`: its id and limit (0: not limited, not counted). */
export interface AdmissionBucket {
  id: string;
  limit: number;
}

/** What `admit` checks: the two buckets, the window they share, and the token (its revocation keys and `iat`). */
export interface AdmissionCheck {
  ip: AdmissionBucket;
  subject: AdmissionBucket;
  windowMs: number;
  /** TokenDenylist.keysOf the token. */
  revocationKeys: readonly [string, string, string];
  /** The token's `iat` claim (epoch seconds). */
  issuedAt: number;
}

/** The outcome of `admit`, step by step; a step that did not run is absent. */
export interface AdmissionState {
  /** Absent when the address is not limited. */
  ip?: RateLimitState;
  /** Read unless the address limit refused: the token's denylist entries (TokenDenylist.statusOf's arguments). */
  revocation?: { denied: boolean; tenantNotBefore: string | null; subjectNotBefore: string | null };
  /** Counted unless a step before refused, or the subject is not limited. */
  subject?: RateLimitState;
}

// A limiter must never be what makes a request slow: past this a hung Redis counts as down (and the limiter fails open).
const COMMAND_TIMEOUT_MS = 250;
// At boot, how long to wait for the connection before the first requests (which would otherwise go uncounted).
const READY_WAIT_MS = 1_000;
// The most requests one ADMIT call counts: ~15 µs of Redis time each, so a call holds Redis for well under a
// millisecond; more requests waiting go out as several calls, pipelined.
const MAX_ADMISSIONS_PER_CALL = 32;

/** A request waiting for the next ADMIT call. */
interface PendingAdmission {
  check: AdmissionCheck;
  resolve: (state: AdmissionState) => void;
  reject: (error: unknown) => void;
}

/**
 * Rate-limit buckets in Redis, shared by every agent-api replica. Keys are `<prefix>:ratelimit:{<scope>:<id>}`:
 * the braces are the Redis Cluster hash tag, so each bucket lives in one slot and the script runs on one node.
 *
 * The connection is its own, with the offline queue off and a command timeout: while Redis is unreachable a
 * command fails at once instead of waiting in a queue (the shared connection queues, which is right for work that
 * must happen, and wrong for a per-request check that can be skipped).
 */
export class RateLimitStore {
  private pending: PendingAdmission[] = [];

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
    const reply = await GCRA.run(this.redis, [this.bucketKey(scope, id)], [String(limit), String(windowMs)]);
    return stateOf(reply, limit);
  }

  /**
   * Whether `admit` can run: its keys live in different hash slots, which one Redis holds but a Redis Cluster
   * spreads over nodes (one script must not span slots there); on a Cluster callers count bucket by bucket.
   */
  get admitsInOneTrip(): boolean {
    return !this.redis.isCluster;
  }

  /**
   * Counts a request with an access token in one round trip: the address bucket, the token's denylist entries, the
   * subject bucket, each only if the step before let it through (see ADMIT).
   *
   * Requests admitted in the same turn of the event loop (those whose bytes arrived together) share one ADMIT call,
   * counted in the order they were admitted. A call costs Redis ~4 µs before it counts anything, and ioredis a command
   * object, a reply to parse and a timeout timer: once per request before, most of agent-api's Redis cost per request.
   * Every answer is the one the request would have had alone at that instant.
   * @throws Error when Redis cannot be reached or answers something unexpected, or on a Redis Cluster.
   */
  admit(check: AdmissionCheck): Promise<AdmissionState> {
    if (!this.admitsInOneTrip) return Promise.reject(new Error('one-trip admission needs a single Redis (its keys span hash slots)'));
    return new Promise((resolve, reject) => {
      this.pending.push({ check, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.admitPending());
    });
  }

  private admitPending(): void {
    const pending = this.pending;
    this.pending = [];
    for (let start = 0; start < pending.length; start += MAX_ADMISSIONS_PER_CALL) {
      void this.admitTogether(pending.slice(start, start + MAX_ADMISSIONS_PER_CALL));
    }
  }

  private async admitTogether(admissions: readonly PendingAdmission[]): Promise<void> {
    const keys: string[] = [];
    const args: string[] = [];
    for (const { check } of admissions) {
      keys.push(this.bucketKey('ip', check.ip.id), ...check.revocationKeys, this.bucketKey('subject', check.subject.id));
      args.push(String(check.ip.limit), String(check.windowMs), String(check.issuedAt), String(check.subject.limit));
    }
    let replies: unknown;
    try {
      replies = await ADMIT.run(this.redis, keys, args);
      if (!Array.isArray(replies) || replies.length !== keys.length / KEYS_PER_ADMISSION) {
        throw new Error(`unexpected admission script reply: ${JSON.stringify(replies)}`);
      }
    } catch (error) {
      for (const admission of admissions) admission.reject(error);
      return;
    }
    admissions.forEach((admission, i) => {
      try {
        admission.resolve(admissionStateOf((replies as unknown[])[i], admission.check));
      } catch (error) {
        admission.reject(error);
      }
    });
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

  /** The key of a bucket: the braces are the Redis Cluster hash tag, so each bucket lives in one slot. */
  private bucketKey(scope: RateLimitScope, id: string): string {
    return `${this.keyPrefix}:ratelimit:{${scope}:${id}}`;
  }
}

/** What ADMIT answered for one request, step by step. @throws Error for a reply of another shape. */
function admissionStateOf(reply: unknown, check: AdmissionCheck): AdmissionState {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number') throw new Error(`unexpected admission script reply: ${JSON.stringify(reply)}`);
  const state: AdmissionState = {};
  if (check.ip.limit > 0) state.ip = stateOf(reply.slice(1, 5), check.ip.limit);
  if (reply[0] === 0) return state;
  const [denied, tenantCut, subjectCut] = reply.slice(5, 8) as [unknown, unknown, unknown];
  state.revocation = { denied: denied === 1, tenantNotBefore: stringOrNull(tenantCut), subjectNotBefore: stringOrNull(subjectCut) };
  if (reply[0] === 2 && check.subject.limit > 0) state.subject = stateOf(reply.slice(8, 12), check.subject.limit);
  return state;
}

/** A bucket's state from the four numbers a GCRA step answers. @throws Error for anything else. */
function stateOf(reply: unknown, limit: number): RateLimitState {
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

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
