import { backoffDelay, withTimeout } from '@skreaver/util';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * A connection from `createRedis`: one server (standalone or found through Sentinel) or a Redis Cluster. Both speak
 * the same commands; code that must tell them apart (SCAN on every master, CLUSTER INFO) uses `isCluster`.
 *
 * Key naming on a cluster (every key a script, MULTI, pipeline or multi-key command touches must hash to one slot):
 * - the braces of a hash tag carry the entity that groups keys: `<prefix>:agent-slots:{<agentId>}:active|pending`,
 *   `<prefix>:auth:{<tenantId>}:…`, `<prefix>:mesh:presence:{coordinators}…`, `<prefix>:ratelimit:{<scope>:<id>}`,
 *   `<prefix>:run-lease:{<runId>}`, `<prefix>:run-cancel:{<runId>}`, `<prefix>:stream:<name>.v<n>:{<partition>}`;
 * - Run queue keys (the stream queue's `{<prefix>}:sq:…`, or BullMQ's) all live under `{<prefix>}` (one slot for every
 *   queue: a queue's scripts touch many of its keys);
 * - a key used alone needs no tag. A new script or MULTI over several keys must give them one tag.
 */
export type RedisClient = Redis | Cluster;

/** True when `redis` is a Redis Cluster client. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}


/** How a connection made by `createRedis` is used. */
export interface RedisConnectionOptions {
  /** Sent as CLIENT SETNAME, so `CLIENT LIST` shows which service and role holds each connection. */
  connectionName?: string;
  /** For blocking commands (XREAD/XREADGROUP BLOCK) and BullMQ workers: commands wait for a reconnect instead of failing. */
  forBlocking?: boolean;
  /** Called for every connection error (refused, reset, auth...); ioredis keeps reconnecting regardless. */
  onError?: (error: Error) => void;
  /**
   * For per-request checks that may be skipped while Redis is away (rate limits): no offline queue, no retry, and
   * each command fails after this many milliseconds.
   */
  commandTimeoutMs?: number;
}

/** The seed nodes and node options of a `redis-cluster://` URL. */
export interface RedisClusterEndpoint {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls?: Record<string, never>;
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
  const scheme = schemeOf(url);
  if (scheme === 'redis' || scheme === 'rediss') return parseStandaloneUrl(url, scheme === 'rediss');
  if (scheme === 'redis-sentinel') return parseSentinelUrl(url);
  if (scheme === 'redis-cluster') throw new Error(`${redact(url)} names a Redis Cluster: open it with createRedis`);
  throw new Error(`unsupported Redis URL scheme in ${redact(url)}: expected redis://, rediss://, redis-sentinel:// or redis-cluster://`);
}

/** True when `url` names a Redis Cluster (`redis-cluster://…`). */
export function isClusterUrl(url: string): boolean {
  return schemeOf(url) === 'redis-cluster';
}

/**
 * Parses `redis-cluster://[user:password@]host1:port1,host2:port2[?tls=true]`: any reachable nodes of the cluster
 * (the client learns the rest from CLUSTER SLOTS); credentials and TLS apply to every node.
 * @throws Error when the URL is malformed.
 */
export function parseRedisClusterUrl(url: string): RedisClusterEndpoint {
  // Like the Sentinel form, a comma-separated host list the WHATWG URL parser cannot read.
  const match = /^redis-cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?(?:\?([^#]*))?$/i.exec(url);
  if (!match) throw new Error(`invalid Redis Cluster URL ${redact(url)}: expected redis-cluster://host:port,host:port`);
  const [, userInfo, hostList = '', query = ''] = match;
  const nodes = hostList.split(',').map((hostPort) => {
    const hostMatch = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort.trim());
    if (!hostMatch?.[1]) throw new Error(`invalid cluster node address "${hostPort}" in ${redact(url)}`);
    return { host: hostMatch[1].replace(/^\[(.*)\]$/, '$1'), port: hostMatch[2] ? Number(hostMatch[2]) : 6379 };
  });
  const endpoint: RedisClusterEndpoint = { nodes, ...credentialsOf(userInfo) };
  const params = new URLSearchParams(query);
  // A cluster has one keyspace (database 0): a db would be silently ignored, so it is refused.
  if (params.has('db')) throw new Error(`Redis Cluster URL ${redact(url)}: a cluster has no databases other than 0`);
  if (params.get('tls') === 'true') endpoint.tls = {};
  return endpoint;
}

/** `user:password` of a host-list URL (which the WHATWG parser cannot read), without empty fields. */
function credentialsOf(userInfo: string | undefined): { username?: string; password?: string } {
  if (!userInfo) return {};
  const separator = userInfo.indexOf(':');
  const username = decodeURIComponent(separator < 0 ? userInfo : userInfo.slice(0, separator));
  const password = separator < 0 ? '' : decodeURIComponent(userInfo.slice(separator + 1));
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function schemeOf(url: string): string | undefined {
  return /^([a-z-]+):\/\//i.exec(url)?.[1]?.toLowerCase();
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
  const endpoint: RedisEndpoint = { sentinels, name: decodeURIComponent(masterName), ...credentialsOf(userInfo) };
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
  const endpoint = parseRedisUrl(url);
  // Through Sentinel, each connection also listens for +switch-master on the sentinels (one more connection per
  // sentinel) and reconnects to the new primary at once. Without it, after a planned SENTINEL FAILOVER a connection
  // stays on the old primary, which keeps accepting writes until the sentinels demote it (their next INFO, up to
  // 10 s later) and then drops them in its resync: events and jobs written meanwhile were lost (seen in the e2e test).
  return { ...endpoint, ...(endpoint.sentinels ? { failoverDetector: true } : {}), ...connectionBehaviour(options) };
}

function connectionBehaviour(options: RedisConnectionOptions): RedisOptions {
  if (options.commandTimeoutMs !== undefined) {
    return {
      connectionName: options.connectionName,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times: number) => backoffDelay(times - 1),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      // Per-request checks (agent-api's admission script) issued while one event-loop turn reads many requests leave
      // in one socket write, and Redis reads and answers them in one go: fewer system calls on both sides. Each
      // command keeps its own timeout and reply.
      enableAutoPipelining: true,
    };
  }
  return {
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
    // Commands issued in the same tick leave in one socket write (a run's commands and those of the runs beside it):
    // on the coordinator the system calls per run dropped from ~29 to ~15 in the bench. Not on blocking connections,
    // where a command waits for the one before it anyway, nor on a Cluster (clusterOptions leaves it out).
    enableAutoPipelining: !options.forBlocking,
  };
}

/**
 * The ioredis Cluster options `createRedis` uses for a `redis-cluster://` URL.
 *
 * A master failover (its replica promoted after `cluster-node-timeout`) takes a few seconds; meanwhile commands for
 * its slots fail with a closed connection or CLUSTERDOWN, and ioredis retries them after refreshing the slot map,
 * up to `maxRedirections` times `retryDelayOnFailover` (about 8 s here) before failing them.
 */
export function clusterOptions(url: string, options: RedisConnectionOptions = {}): ClusterOptions {
  const { username, password, tls } = parseRedisClusterUrl(url);
  const behaviour = connectionBehaviour(options);
  const failFastCommands = options.commandTimeoutMs !== undefined;
  return {
    redisOptions: {
      username,
      password,
      tls,
      connectionName: behaviour.connectionName,
      connectTimeout: behaviour.connectTimeout,
      commandTimeout: behaviour.commandTimeout,
      maxRetriesPerRequest: behaviour.maxRetriesPerRequest,
    },
    // Whole-cluster reconnects (every seed unreachable): forever, 100 ms doubling to 2 s, like a single server.
    clusterRetryStrategy: (times: number) => backoffDelay(times - 1),
    enableOfflineQueue: !failFastCommands,
    enableReadyCheck: true,
    maxRedirections: failFastCommands ? 1 : 32,
    retryDelayOnFailover: 250,
    retryDelayOnClusterDown: 250,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    // Replicas serve no reads: the platform reads its own writes (streams, leases, slots).
    scaleReads: 'master',
    // SSUBSCRIBE goes to the master of the channel's slot, on a connection of its own opened only once a channel is
    // subscribed there (none for clients that never subscribe), and moves to the promoted replica after a failover.
    shardedSubscribers: true,
  };
}

/**
 * Opens an ioredis connection to `url` (`redis://`, `rediss://`, `redis-sentinel://…/<masterName>` or
 * `redis-cluster://host:port,…`). The connection reconnects forever with capped backoff and never crashes the process
 * with an unhandled 'error' event.
 */
export function createRedis(url: string, options: RedisConnectionOptions = {}): RedisClient {
  if (isClusterUrl(url)) {
    const { nodes } = parseRedisClusterUrl(url);
    const cluster = new Cluster(nodes, clusterOptions(url, options));
    cluster.on('error', (error: Error) => options.onError?.(error));
    // ioredis re-emits each node's errors as 'node error'; unhandled they are harmless but reported for the logs.
    cluster.on('node error', (error: Error) => options.onError?.(error));
    if (!options.forBlocking && options.commandTimeoutMs === undefined) failFastWhileDown(cluster);
    return cluster;
  }
  const redis = new Redis(redisOptions(url, options));
  // Without a listener ioredis prints every failed reconnect attempt to stderr; readiness probes report the outage.
  redis.on('error', (error: Error) => options.onError?.(error));
  if (!options.forBlocking && options.commandTimeoutMs === undefined) failFastWhileDown(redis);
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
 * never written. On a cluster the same holds for whole-cluster reconnects; a single master's failover does not
 * reconnect the cluster client (ioredis retries those commands on the promoted replica).
 */
function failFastWhileDown(redis: RedisClient): void {
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
export async function pingRedis(redis: RedisClient, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await withTimeout(redis.ping(), timeoutMs, `Redis did not answer PING within ${timeoutMs} ms`);
  return Math.round((performance.now() - started) * 100) / 100;
}

/**
 * Every key matching `pattern`, a SCAN page at a time (never blocks Redis). On a cluster every master is scanned: SCAN
 * through a cluster client reaches one node only. Keys written during the scan may or may not be seen; a key is
 * seen twice only if a failover moves it mid-scan.
 */
export async function* scanKeys(redis: RedisClient, pattern: string): AsyncGenerator<string[]> {
  // The master list is known once the client has loaded the slot map: a first command waits for that.
  if (isCluster(redis) && redis.status !== 'ready') await redis.ping();
  const servers: Redis[] = isCluster(redis) ? redis.nodes('master') : [redis];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
