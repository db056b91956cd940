import { z } from 'zod';

import { RunEventV1 } from '../events/run-event.v1';
import { MeshEnvelopeV1 } from '../streams/mesh-envelope.v1';
import { AckV1 } from './ack.v1';
import { PongV1 } from './heartbeat.v1';
import { ReconnectHintV1 } from './reconnect-hint.v1';
import { WsErrorV1 } from './ws-error.v1';

/** Path of the plain-WebSocket endpoint, on the same port as socket.io. */
export const WS_PATH = '/ws';

/** A client's id for one request, echoed in the answer to it. */
export const WsRequestId = z.union([z.string().max(128), z.number().int().safe()]);
export type WsRequestId = z.infer<typeof WsRequestId>;

/** Frame types a `/ws` client sends. */
export const WsClientFrameType = z.enum(['subscribe', 'unsubscribe', 'ping']);
export type WsClientFrameType = z.infer<typeof WsClientFrameType>;

/**
 * Every `/ws` client frame: a JSON object with `type`, an optional `id`, and the fields of the request, e.g.
 * `{"type":"subscribe","id":1,"agent_id":"…","after":"…"}`. The fields other than `type` and `id` are the
 * socket.io payload of the same name (`SubscribeRequestV1`, `UnsubscribeRequestV1`; `ping` has none).
 */
export const WsClientEnvelopeV1 = z.looseObject({ type: z.string().max(64), id: WsRequestId.optional() });
export type WsClientEnvelopeV1 = z.infer<typeof WsClientEnvelopeV1>;

const requestId = { id: WsRequestId.optional() };

/** `/ws` answer to `subscribe` / `unsubscribe`: the socket.io ack with `type` and the request's `id`. */
export const WsAckFrameV1 = z.intersection(z.object({ type: z.literal('ack'), ...requestId }), AckV1);
/** `/ws` run event of a subscription. */
export const WsEventFrameV1 = z.object({ type: z.literal('event'), event: RunEventV1 });
/** `/ws` mesh message published to a topic the client subscribed to. */
export const WsMeshFrameV1 = z.object({ type: z.literal('mesh'), message: MeshEnvelopeV1 });
/** `/ws` error; `id` names the request it answers, when there is one. */
export const WsErrorFrameV1 = WsErrorV1.extend({ type: z.literal('error'), ...requestId });
/** `/ws` answer to `ping`. */
export const WsPongFrameV1 = PongV1.extend({ type: z.literal('pong'), ...requestId });
/** `/ws` notice before the server closes with 1012. */
export const WsReconnectFrameV1 = ReconnectHintV1.extend({ type: z.literal('reconnect') });

/** Every frame the server sends on `/ws`. */
export const WsServerFrameV1 = z.union([WsAckFrameV1, WsEventFrameV1, WsMeshFrameV1, WsErrorFrameV1, WsPongFrameV1, WsReconnectFrameV1]);
export type WsServerFrameV1 = z.infer<typeof WsServerFrameV1>;
export type WsAckFrameV1 = z.infer<typeof WsAckFrameV1>;
export type WsEventFrameV1 = z.infer<typeof WsEventFrameV1>;
export type WsMeshFrameV1 = z.infer<typeof WsMeshFrameV1>;
export type WsErrorFrameV1 = z.infer<typeof WsErrorFrameV1>;
export type WsPongFrameV1 = z.infer<typeof WsPongFrameV1>;
export type WsReconnectFrameV1 = z.infer<typeof WsReconnectFrameV1>;
