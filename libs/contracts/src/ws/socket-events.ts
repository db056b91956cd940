import type { RunEventV1 } from '../events/run-event.v1';
import type { MeshEnvelopeV1 } from '../streams/mesh-envelope.v1';
import type { AckV1 } from './ack.v1';
import type { PongV1 } from './heartbeat.v1';
import type { ReconnectHintV1 } from './reconnect-hint.v1';
import type { WsErrorV1 } from './ws-error.v1';

/** socket.io namespace of live agent events (served at `/socket.io`). */
export const AGENTS_NAMESPACE = '/agents';

/** Messages the server sends on `/agents`, by event name. */
export interface ServerToClientEvents {
  /** A run event of a subscription (`RunEventV1`), live or replayed. */
  event: (event: RunEventV1) => void;
  /** A mesh message published to a topic the client subscribed to. */
  mesh: (message: MeshEnvelopeV1) => void;
  error: (error: WsErrorV1) => void;
  pong: (pong: PongV1) => void;
  /** Sent before a graceful disconnect. */
  reconnect: (hint: ReconnectHintV1) => void;
}

/**
 * Messages a client sends on `/agents`, by event name. Payloads are `unknown` until the gateway has parsed them
 * (`SubscribeRequestV1`, `UnsubscribeRequestV1`); the gateway answers through the ack callback.
 */
export interface ClientToServerEvents {
  subscribe: (payload: unknown, ack: (result: AckV1) => void) => void;
  unsubscribe: (payload: unknown, ack: (result: AckV1) => void) => void;
  /** Answered with a `pong` event (and through `ack`, when given). */
  ping: (ack?: (pong: PongV1) => void) => void;
}
