import { baseEnv, databaseEnv, defineConfig, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { z } from 'zod';

/** ws-gateway's environment. */
export const WsGatewayConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  PORT: envPort(8081).describe('HTTP port.'),
  // The gateway only looks up API keys and archived events: two connections are plenty.
  DATABASE_POOL_SIZE: envInt(2, 1, 1_000).describe('PostgreSQL pool size (`skreaver_db_connections_max`).'),
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters, the secret agent-api signs tokens with').describe(
    'The key agent-api signs tokens with (HMAC, at least 32 characters); the gateway does not start without it.',
  ),
  WEBSOCKET_MAX_CONNECTIONS: envInt(10_000, 1, 1_000_000).describe(
    'Connections one replica accepts, socket.io and `/ws` together; more are refused with `max_connections`.',
  ),
  WEBSOCKET_MAX_PENDING_HANDSHAKES: envInt(256, 1, 1_000_000).describe(
    'Connections one replica handshakes at once (from connect through the credential check to the first subscription\'s ack, at most 10 s each); more are refused at once with `overloaded`, which clients retry after a backoff, so a reconnect storm queues no work for clients that have given up.',
  ),
  WEBSOCKET_LISTEN_BACKLOG: envInt(4_096, 1, 65_535).describe(
    'Connections the kernel queues for the gateway before it accepts them (the listen backlog; the kernel caps it at `net.core.somaxconn`, 4096 by default since Linux 5.4). When the replica beside a dead one takes over its clients at once, a full queue drops their connects, and each waits for a TCP retransmit (1 s, then 3, 7, 15 s after its start); Node\'s default of 511 made a 5,000-socket reconnect storm wait that way.',
  ),
  WS_MAX_CONNECTIONS_PER_IP: envInt(100, 1, 1_000_000).describe(
    'Connections one client address may hold on a replica (socket.io: engine.io connections, joined or not); more are refused with `too_many_connections`.',
  ),
  WS_MAX_SUBSCRIPTIONS: envInt(100, 1, 100_000).describe(
    'Subscriptions one connection may hold; the ack of one more says `too_many_subscriptions`.',
  ),
  WS_MAX_MESSAGE_BYTES: envInt(64 * 1024, 1024, 16 * 1024 * 1024).describe(
    'Largest client message, bytes; a larger one is answered `message_too_large` and the connection kept.',
  ),
  WS_MAX_BUFFERED_BYTES: envInt(1024 * 1024, 16 * 1024, 1024 * 1024 * 1024).describe(
    'A client still holding more than this unsent when the next events come is cut as `slow_consumer`; replays are paced to the client instead.',
  ),
  WS_PING_INTERVAL_MS: envInt(20_000, 100, 600_000).describe(
    '`/ws`: a protocol ping every interval, a client that missed two pongs is dropped; socket.io: its ping interval and timeout.',
  ),
  WS_TRUST_PROXY_HOPS: envInt(0, 0, 10).describe(
    'Proxies in front that append to `X-Forwarded-For` (1 behind the nginx edge or an Ingress); 0: the per-address limit applies to the peer address.',
  ),
});
export type WsGatewayConfig = Config<typeof WsGatewayConfig.shape>;

export const WS_GATEWAY_CONFIG = Symbol('WS_GATEWAY_CONFIG');
