import { z } from 'zod';

import { AgentId, JsonValue, RunId, TenantId, Timestamp } from '../common';
import { TopicName } from '../ws/subscription.v1';

/** Message ids: chosen by the sender (so a retried send is recognised as the same message) or minted by agent-api. */
export const MeshMessageId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : -');
export type MeshMessageId = z.infer<typeof MeshMessageId>;

/** Who sent a mesh message: an agent id, or the API subject (`key:<prefix>`) for messages posted over HTTP. */
export const MeshSender = z.string().min(1).max(128);

/** What a message is about (`task`, `alert.raised`…); free-form for the receiving agent to interpret. */
export const MeshKind = z.string().min(1).max(128);

/** Longest a message may stay deliverable. */
export const MESH_MAX_TTL_MS = 86_400_000;

const envelopeFields = {
  id: MeshMessageId,
  tenant_id: TenantId,
  from: MeshSender,
  kind: MeshKind,
  payload: JsonValue,
  /** Set on requests (and copied on their replies) to pair a reply with its request. */
  correlation_id: z.string().min(1).max(128).optional(),
  /** The reply address of a request: the receiver's run output is sent back there. */
  reply_to: MeshMessageId.optional(),
  ts: Timestamp,
  /** Not delivered (dropped and counted as `expired`) once `ts + ttl_ms` has passed. */
  ttl_ms: z.number().int().min(1).max(MESH_MAX_TTL_MS).optional(),
  /** W3C trace context of the sender, carried to the receiving run. */
  traceparent: z.string().max(128).optional(),
};

/**
 * One mesh message on `Streams.meshMessages`, addressed to exactly one of: an agent (`to`), a topic (`topic`), or every
 * agent of the tenant (`broadcast: true`).
 */
export const MeshEnvelopeV1 = z.union([
  z.object({ ...envelopeFields, to: AgentId }),
  z.object({ ...envelopeFields, topic: TopicName }),
  z.object({ ...envelopeFields, broadcast: z.literal(true) }),
]);
export type MeshEnvelopeV1 = z.infer<typeof MeshEnvelopeV1>;

/** How an envelope is routed: the metric label and the route of `POST /mesh/messages`. */
export type MeshRoute = 'unicast' | 'topic' | 'broadcast';

export function meshRouteOf(envelope: MeshEnvelopeV1): MeshRoute {
  if ('to' in envelope) return 'unicast';
  if ('topic' in envelope) return 'topic';
  return 'broadcast';
}

/**
 * The input of the run a mesh message becomes (`source: "mesh"`): the message as the receiving agent observes it.
 * `reply_to` is set when the sender waits for this run's output.
 */
export const MeshRunInput = z.object({
  mesh: z.object({
    message_id: MeshMessageId,
    from: MeshSender,
    kind: MeshKind,
    topic: TopicName.optional(),
    correlation_id: z.string().optional(),
    reply_to: MeshMessageId.optional(),
    traceparent: z.string().optional(),
  }),
  payload: JsonValue,
});
export type MeshRunInput = z.infer<typeof MeshRunInput>;

/** What a requester receives: the output (or failure) of the run its request became. */
export const MeshReplyV1 = z.object({
  correlation_id: z.string().optional(),
  message_id: MeshMessageId,
  from: AgentId,
  run_id: RunId,
  status: z.enum(['completed', 'failed', 'cancelled']),
  output: JsonValue.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  ts: Timestamp,
});
export type MeshReplyV1 = z.infer<typeof MeshReplyV1>;
