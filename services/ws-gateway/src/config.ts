import { baseEnv, databaseEnv, defineConfig, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { z } from 'zod';

/** ws-gateway's environment. */
export const WsGatewayConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  PORT: envPort(8081),
  /** The gateway only looks up API keys and archived events: two connections are plenty. */
  DATABASE_POOL_SIZE: envInt(2, 1, 1_000),
  /** HMAC key of access tokens: the one agent-api signs with. */
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters, the secret agent-api signs tokens with'),
  /** Connections one replica accepts (socket.io and `/ws` together); more are refused with `max_connections`. */
  WEBSOCKET_MAX_CONNECTIONS: envInt(10_000, 1, 1_000_000),
  /** Connections one client address may hold on a replica; more are refused with `too_many_connections`. */
  WS_MAX_CONNECTIONS_PER_IP: envInt(100, 1, 1_000_000),
  /** Subscriptions one connection may hold. */
  WS_MAX_SUBSCRIPTIONS: envInt(100, 1, 100_000),
  /** Largest client message, bytes; a larger one is answered with `message_too_large` and the connection kept. */
  WS_MAX_MESSAGE_BYTES: envInt(64 * 1024, 1024, 16 * 1024 * 1024),
  /** Bytes waiting to be sent to one client above which it is disconnected as a slow consumer. */
  WS_MAX_BUFFERED_BYTES: envInt(1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
  /** Heartbeat: the server pings every interval and drops a client that missed two pongs. */
  WS_PING_INTERVAL_MS: envInt(20_000, 100, 600_000),
  /** Proxies in front of the gateway that append to X-Forwarded-For (1 behind the nginx edge or an Ingress). */
  WS_TRUST_PROXY_HOPS: envInt(0, 0, 10),
});
export type WsGatewayConfig = Config<typeof WsGatewayConfig.shape>;

export const WS_GATEWAY_CONFIG = Symbol('WS_GATEWAY_CONFIG');
