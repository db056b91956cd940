import { type RedisClient, createRedis } from './redis-connection';
import { closeConnection } from './redis-lifecycle';

/** Options of `RedisConnections`. */
export interface RedisConnectionsOptions {
  url: string;
  /** Base CLIENT SETNAME; blocking connections append `:<name>`. */
  connectionName: string;
  /** Connection errors, with the name of the connection that raised them. */
  onError?: (connectionName: string, error: Error) => void;
}

// QUIT waits behind a blocked XREAD; past this, the connection is simply dropped.
const QUIT_TIMEOUT_MS = 1_000;

/** Owns a service's Redis connections: one shared non-blocking client plus dedicated ones (mostly blocking), all closed together. */
export class RedisConnections {
  /** The shared non-blocking connection (producers, readers, queues, health). */
  readonly shared: RedisClient;
  private readonly owned: RedisClient[] = [];

  constructor(private readonly options: RedisConnectionsOptions) {
    this.shared = this.open(options.connectionName, false);
  }

  /**
   * A new dedicated connection for blocking reads (a tailer, a consumer-group runner, a BullMQ worker).
   * Every call opens a new connection, because two blocking readers cannot share one.
   */
  blocking(name: string): RedisClient {
    const redis = this.open(`${this.options.connectionName}:${name}`, true);
    this.owned.push(redis);
    return redis;
  }

  /**
   * A new dedicated non-blocking connection (like the shared one) for a client that must not share it: the run
   * queue, because BullMQ defines its ~50 scripts on its connection and ioredis copies every script of a connection
   * into each pipeline it builds, i.e. into every auto-pipelined socket write of the shared one.
   */
  dedicated(name: string): RedisClient {
    const redis = this.open(`${this.options.connectionName}:${name}`, false);
    this.owned.push(redis);
    return redis;
  }

  /** Closes every connection: dedicated ones first, the shared one last (QUIT, or a hard disconnect after 1 s). */
  async closeAll(): Promise<void> {
    await Promise.all(this.owned.map((redis) => closeConnection(redis, QUIT_TIMEOUT_MS)));
    await closeConnection(this.shared, QUIT_TIMEOUT_MS);
  }

  private open(connectionName: string, forBlocking: boolean): RedisClient {
    const { onError } = this.options;
    return createRedis(this.options.url, {
      connectionName,
      forBlocking,
      onError: onError ? (error) => onError(connectionName, error) : undefined,
    });
  }
}
