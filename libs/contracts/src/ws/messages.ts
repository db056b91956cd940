import { z } from 'zod';

import { AgentId, RunId } from '../common';
import { RunEventV1 } from '../events/run-event.v1';

/** Socket.io namespace of live agent events. */
export const AGENTS_NAMESPACE = '/agents';

/** Client → server `subscribe`: exactly one target. */
export const SubscribeRequestV1 = z.union([
  z.strictObject({ agent_id: AgentId }),
  z.strictObject({ run_id: RunId }),
]);
export type SubscribeRequestV1 = z.infer<typeof SubscribeRequestV1>;

export const WsErrorCode = z.enum(['validation_failed', 'internal_error']);
export type WsErrorCode = z.infer<typeof WsErrorCode>;

export const WsErrorV1 = z.object({ code: WsErrorCode, message: z.string() });
export type WsErrorV1 = z.infer<typeof WsErrorV1>;

/** Answer to every acknowledged client message. */
export const AckV1 = z.union([
  z.object({ ok: z.literal(true), room: z.string() }),
  z.object({ ok: z.literal(false), error: WsErrorV1 }),
]);
export type AckV1 = z.infer<typeof AckV1>;

/** Messages the server sends, by event name. */
export interface ServerToClientEvents {
  event: (event: RunEventV1) => void;
  error: (error: WsErrorV1) => void;
}

/** Messages a client sends, by event name; payloads are `unknown` until the gateway has parsed them. */
export interface ClientToServerEvents {
  subscribe: (payload: unknown, ack: (result: AckV1) => void) => void;
  unsubscribe: (payload: unknown, ack: (result: AckV1) => void) => void;
}
