import { backoffDelay, withTimeout } from '@skreaver/util';
import Redis, { type RedisOptions } from 'ioredis';


/** How a connection made by `createRedis` is used. */
export interface RedisConnectionOptions {
  /** Sent as CLIENT SETNAME, so `CLIENT LIST` shows which service and role holds each connection. */
  connectionName?: string;
  /** For blocking commands (XREAD/XREADGROUP BLOCK) and BullMQ workers: commands wait for a reconnect instead of failing. */
  forBlocking?: boolean;
  /** Called for every connection error (refused, reset, auth...); ioredis keeps reconnecting regardless. */
  onError?: (error: Error) => void;
}

/** Where to connect, as parsed from a `redis://`, `rediss://` or `redis-sentinel://` URL. */
export type RedisEndpoint = Pick<
  RedisOptions,
  'host' | 'port' | 'username' | 'password' | 'db' | 'tls' | 'sentinels' | 'name' | 'sentinelPassword' | 'enableTLSForSentinelMode'
>;

// Each reconnect attempt gives up after this long, so a black-holed host fails a request within seconds.
const CONNECT_TIMEOUT_MS = 3_000;

/**
 * Parses a Redis URL into ioredis connection options.
 *
 * - `redis://[user:password@]host[:port][/db]` and `rediss://…` (TLS);
 * - `redis-sentinel://[user:password@]host1:port1,host2:port2/<masterName>[?db=0&sentinelPassword=…&tls=true]`:
 *   the credentials are the master's; sentinels get `sentinelPassword` only when given.
 * @throws Error when the URL is malformed or uses another scheme.
 */
export function parseRedisUrl(url: string): RedisEndpoint {
  const scheme = /^([a-z-]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return parseStandaloneUrl(url, scheme === 'rediss');
  if (scheme === 'redis-sentinel') return parseSentinelUrl(url);
  throw new Error(`unsupported Redis URL scheme in ${redact(url)}: expected redis://, rediss:// or redis-sentinel://`);
}

function parseStandaloneUrl(url: string, tls: boolean): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid Redis URL ${redact(url)}`);
  }
  if (!parsed.hostname) throw new Error(`Redis URL ${redact(url)} has no host`);
  const endpoint: RedisEndpoint = {
    // URL keeps the brackets of IPv6 literals; net.connect wants them gone.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : 6379,
  };
  if (parsed.username) endpoint.username = decodeURIComponent(parsed.username);
  if (parsed.password) endpoint.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, '');
  if (db) endpoint.db = parseDb(db, url);
  if (tls) endpoint.tls = {};
  return endpoint;
}

function parseSentinelUrl(url: string): RedisEndpoint {
  // WHATWG URL cannot parse a comma-separated host list, so this form is matched by hand.
  const match = /^redis-sentinel:\/\/(?:([^@/]*)@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(url);
  if (!match) throw new Error(`invalid Redis Sentinel URL ${redact(url)}: expected redis-sentinel://host:port,…/<masterName>`);
  const [, userInfo, hostList = '', masterName = '', query = ''] = match;
  const sentinels = hostList.split(',').map((hostPort) => {
    const hostMatch = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort.trim());
    if (!hostMatch?.[1]) throw new Error(`invalid sentinel address "${hostPort}" in ${redact(url)}`);
    return { host: hostMatch[1].replace(/^\[(.*)\]$/, '$1'), port: hostMatch[2] ? Number(hostMatch[2]) : 26379 };
  });
  const endpoint: RedisEndpoint = { sentinels, name: decodeURIComponent(masterName) };
  if (userInfo) {
    const separator = userInfo.indexOf(':');
    const username = decodeURIComponent(separator < 0 ? userInfo : userInfo.slice(0, separator));
    const password = separator < 0 ? '' : decodeURIComponent(userInfo.slice(separator + 1));
    if (username) endpoint.username = username;
    if (password) endpoint.password = password;
  }
  const params = new URLSearchParams(query);
  const db = params.get('db');
  if (db) endpoint.db = parseDb(db, url);
  const sentinelPassword = params.get('sentinelPassword');
  if (sentinelPassword) endpoint.sentinelPassword = sentinelPassword;
  if (params.get('tls') === 'true') {
    endpoint.tls = {};
    endpoint.enableTLSForSentinelMode = true;
  }
  return endpoint;
}

function parseDb(value: string, url: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`invalid Redis database "${value}" in ${redact(url)}`);
  return Number(value);
}

/** Error messages may end up in logs: never echo a password. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//<credentials>@');
}

/** The ioredis options `createRedis` uses; exported for tests and for callers that build their own clients. */
export function redisOptions(url: string, options: RedisConnectionOptions = {}): RedisOptions {
  return {
    ...parseRedisUrl(url),
    connectionName: options.connectionName,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Reconnect forever, 100 ms doubling to 2 s: a Redis restart is survived without a process restart.
    retryStrategy: (times: number) => backoffDelay(times - 1),
    // Commands issued while disconnected wait in the offline queue (so boot-time commands need no ready check).
    // On ordinary connections they fail after two failed reconnect attempts, a clear MaxRetriesPerRequestError
    // ~0.3 s after Redis refuses connections, instead of hanging (and `createRedis` then fails later ones at once);
    // blocking readers and BullMQ workers (which require null) wait for Redis to come back.
    enableOfflineQueue: true,
    maxRetriesPerRequest: options.forBlocking ? null : 1,
  };
}

/**
 * Opens an ioredis connection to `url` (`redis://`, `rediss://` or `redis-sentinel://…/<masterName>`).
 * The connection reconnects forever with capped backoff and never crashes the process with an unhandled 'error' event.
 */
export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const redis = new Redis(redisOptions(url, options));
  // Without a listener ioredis prints every failed reconnect attempt to stderr; readiness probes report the outage.
  redis.on('error', (error: Error) => options.onError?.(error));
  if (!options.forBlocking) failFastWhileDown(redis);
  return redis;
}

// Failed reconnect attempts after which Redis counts as down: the same two after which maxRetriesPerRequest: 1
// flushes the offline queue with MaxRetriesPerRequestError.
const ATTEMPTS_BEFORE_FAIL_FAST = 2;

/**
 * Once Redis has refused two reconnect attempts in a row, new commands fail at once ("Stream isn't writeable…")
 * until the connection is ready again. With the offline queue on, ioredis flushes it only every second attempt, and
 * with the backoff at its 2 s cap a command issued during an outage waited up to ~4 s for its error: a request
 * making three Redis calls on its error path took 12 s to answer 503, longer than clients and probes wait. A
 * short blip (one failed attempt) is still absorbed by the queue, and nothing is sent twice: a refused command was
 * never written.
 */
function failFastWhileDown(redis: Redis): void {
  let failedAttempts = 0;
  redis.on('reconnecting', () => {
    failedAttempts += 1;
    if (failedAttempts >= ATTEMPTS_BEFORE_FAIL_FAST) redis.options.enableOfflineQueue = false;
  });
  redis.on('ready', () => {
    failedAttempts = 0;
    redis.options.enableOfflineQueue = true;
  });
}

/**
 * PINGs `redis` and resolves with the round-trip time in milliseconds.
 * @throws Error when Redis does not answer within `timeoutMs` or the command fails.
 */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await withTimeout(redis.ping(), timeoutMs, `Redis did not answer PING within ${timeoutMs} ms`);
  return Math.round((performance.now() - started) * 100) / 100;
}
