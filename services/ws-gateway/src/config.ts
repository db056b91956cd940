import { baseEnv, defineConfig, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';

/** ws-gateway's environment. */
export const WsGatewayConfig = defineConfig({
  ...baseEnv,
  PORT: envPort(8081),
  /** Connections one replica accepts; more are refused with reason `max_connections`. */
  WEBSOCKET_MAX_CONNECTIONS: envInt(10_000, 1, 1_000_000),
  /** Largest client frame, bytes. */
  WS_MAX_MESSAGE_BYTES: envInt(64 * 1024, 1024, 16 * 1024 * 1024),
});
export type WsGatewayConfig = Config<typeof WsGatewayConfig.shape>;

export const WS_GATEWAY_CONFIG = Symbol('WS_GATEWAY_CONFIG');
