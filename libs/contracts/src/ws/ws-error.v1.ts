import { z } from 'zod';

import { AuthFailureReason } from '../http/auth';

/**
 * Stable codes of everything the gateway refuses or reports, on both transports: socket.io `connect_error`
 * (`err.message` is the code, `err.data` the `WsErrorV1`), `error` events, failed acks, and `/ws` error frames.
 */
export const WsErrorCode = z.enum([
  /** A message that does not match its schema. */
  'validation_failed',
  /** `/ws`: a frame that is not a JSON object. */
  'invalid_json',
  /** `/ws`: a frame `type` the gateway does not know; socket.io: an unknown event name. */
  'unknown_type',
  /** A client message above `WS_MAX_MESSAGE_BYTES`. */
  'message_too_large',
  /** More than `WS_MAX_SUBSCRIPTIONS` on one connection. */
  'too_many_subscriptions',
  /** The `after` event is not in the event log any more (or never was, in the caller's tenant). */
  'replay_unavailable',
  /** A missing, malformed, expired, revoked or wrongly signed credential (`reason` says which). */
  'unauthorized',
  /** This replica holds `WEBSOCKET_MAX_CONNECTIONS`: retry, another replica may take it. */
  'max_connections',
  /** The client's address holds `WS_MAX_CONNECTIONS_PER_IP`. */
  'too_many_connections',
  /** This replica has `WEBSOCKET_MAX_PENDING_HANDSHAKES` connections opening: retry after a backoff (jittered). */
  'overloaded',
  /** The client did not read its events fast enough (`WS_MAX_BUFFERED_BYTES`). */
  'slow_consumer',
  /** socket.io: a namespace other than `/agents` (the root namespace `/` included). */
  'invalid_namespace',
  /** The replica is stopping: reconnect (the edge sends you to another) and resume with `after`. */
  'shutting_down',
  /** Redis (event log, token denylist) cannot be read right now: retry. */
  'redis_unavailable',
  /** The database (API keys, archived events) cannot be read right now: retry. */
  'database_unavailable',
  'internal_error',
]);
export type WsErrorCode = z.infer<typeof WsErrorCode>;

/** An error as the gateway reports it; `reason` comes with `unauthorized`. */
export const WsErrorV1 = z.object({ code: WsErrorCode, message: z.string(), reason: AuthFailureReason.optional() });
export type WsErrorV1 = z.infer<typeof WsErrorV1>;

/** Close codes of `/ws` connections the gateway ends (a slow or silent client is cut without a close frame). */
export const WsCloseCode = {
  /** Graceful shutdown: reconnect and resume with `after`. */
  serviceRestart: 1012,
  /** The replica is full (`max_connections`, `overloaded`) or cannot check credentials right now: retry later. */
  tryAgainLater: 1013,
  /** The credential was refused, or has expired while connected. */
  unauthorized: 4401,
  /** The client's address holds `WS_MAX_CONNECTIONS_PER_IP`. */
  tooManyConnections: 4429,
} as const;
export type WsCloseCode = (typeof WsCloseCode)[keyof typeof WsCloseCode];
