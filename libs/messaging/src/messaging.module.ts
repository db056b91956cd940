import { type DynamicModule, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigModule } from '@skreaver/config';
import type { RedisClient } from './redis-connection';

import { RedisConnections } from './redis-connections';
import { AgentRunSlots } from './agent-run-slots';
import { MeshStore } from './mesh-store';
import { RedisHealth } from './redis-health';
import { RunEventLog } from './run-event-log';
import { StreamProducer } from './stream-producer';
import { StreamReader } from './stream-reader';

/** Injection token of the shared non-blocking ioredis client. */
export const REDIS = Symbol('skreaver.messaging.redis');

/** Injection token of the `MessagingOptions` the module was configured with. */
export const MESSAGING_OPTIONS = Symbol('skreaver.messaging.options');

/** Configuration of `MessagingModule.forRoot`. */
export interface MessagingOptions {
  /** `redis://`, `rediss://` or `redis-sentinel://…/<masterName>`. */
  url: string;
  /** Deployment key prefix of every stream and queue key. */
  keyPrefix: string;
  /** CLIENT SETNAME of the shared connection, e.g. the service name; blocking ones get `:<role>` appended. */
  connectionName: string;
  /** Approximate length of the global event stream (`SKREAVER_EVENTS_STREAM_MAXLEN`); default the stream's own. */
  eventsStreamMaxLen?: number;
}

// A Redis outage produces an error per reconnect attempt (several per second); one line per connection and
// message every 30 s says the same thing.
const ERROR_LOG_INTERVAL_MS = 30_000;

function throttledErrorLogger(logger: Logger): (connectionName: string, error: Error) => void {
  const lastLogged = new Map<string, number>();
  return (connectionName, error) => {
    const key = `${connectionName}\u0000${error.message}`;
    const now = Date.now();
    if (now - (lastLogged.get(key) ?? -Infinity) < ERROR_LOG_INTERVAL_MS) return;
    // Messages can embed addresses or ids; forgetting everything now and then keeps the map bounded.
    if (lastLogged.size >= 100) lastLogged.clear();
    lastLogged.set(key, now);
    logger.warn(`Redis connection ${connectionName}: ${error.message}`);
  };
}

const logger = new Logger('MessagingModule');

/**
 * Redis for a service: the shared client (`REDIS`), `StreamProducer`, `StreamReader`, `RedisHealth`,
 * `RedisConnections` (dedicated blocking connections), `RunEventLog`, `AgentRunSlots` and `MeshStore`. Not global:
 * every module that injects one of them imports `MessagingModule`, and being a static module it is one instance
 * (one set of connections) however many modules import it. Every connection it opened is closed on application
 * shutdown. `MessagingModule.forRoot(options)`, imported once by the app module, supplies its options.
 */
@Module({
  providers: [
    {
      provide: RedisConnections,
      useFactory: (config: MessagingOptions) =>
        new RedisConnections({
          url: config.url,
          connectionName: config.connectionName,
          onError: throttledErrorLogger(logger),
        }),
      inject: [MESSAGING_OPTIONS],
    },
    { provide: REDIS, useFactory: (connections: RedisConnections) => connections.shared, inject: [RedisConnections] },
    {
      provide: StreamProducer,
      useFactory: (redis: RedisClient, config: MessagingOptions) => new StreamProducer(redis, config.keyPrefix),
      inject: [REDIS, MESSAGING_OPTIONS],
    },
    {
      provide: StreamReader,
      useFactory: (redis: RedisClient, config: MessagingOptions) =>
        new StreamReader(redis, config.keyPrefix, {
          onInvalid: (entryId, error) =>
            logger.warn(`skipped unparseable stream entry ${entryId}: ${error instanceof Error ? error.message : String(error)}`),
        }),
      inject: [REDIS, MESSAGING_OPTIONS],
    },
    { provide: RedisHealth, useFactory: (redis: RedisClient) => new RedisHealth(redis), inject: [REDIS] },
    {
      provide: AgentRunSlots,
      useFactory: (redis: RedisClient, config: MessagingOptions) => new AgentRunSlots(redis, config.keyPrefix),
      inject: [REDIS, MESSAGING_OPTIONS],
    },
    {
      provide: MeshStore,
      useFactory: (redis: RedisClient, config: MessagingOptions, connections: RedisConnections) =>
        new MeshStore(redis, config.keyPrefix, () => connections.blocking('mesh-reply')),
      inject: [REDIS, MESSAGING_OPTIONS, RedisConnections],
    },
    {
      provide: RunEventLog,
      useFactory: (producer: StreamProducer, reader: StreamReader, config: MessagingOptions) =>
        new RunEventLog(producer, reader, config.eventsStreamMaxLen === undefined ? {} : { globalMaxLen: config.eventsStreamMaxLen }),
      inject: [StreamProducer, StreamReader, MESSAGING_OPTIONS],
    },
  ],
  exports: [RedisConnections, REDIS, StreamProducer, StreamReader, RedisHealth, RunEventLog, AgentRunSlots, MeshStore],
})
export class MessagingModule implements OnApplicationShutdown {
  constructor(@Inject(RedisConnections) private readonly connections: RedisConnections) {}

  /**
   * The service's Redis settings, as `MESSAGING_OPTIONS` to every module through `ConfigModule` (configuration, like
   * the service config); the connections themselves only reach modules that import `MessagingModule`. Import it once,
   * in the app module.
   */
  static forRoot(options: MessagingOptions): DynamicModule {
    return ConfigModule.register(MESSAGING_OPTIONS, Object.freeze({ ...options }));
  }

  /** Quits every connection the module opened (blocking ones first). */
  async onApplicationShutdown(): Promise<void> {
    await this.connections.closeAll();
  }
}
