import { z } from 'zod';

import { AgentId, JsonValue, TenantId, Timestamp } from '../common';
import { MAX_WAIT_SECONDS } from './runs';
import { MESH_MAX_TTL_MS, MeshKind, MeshMessageId, MeshReplyV1 } from '../streams/mesh-envelope.v1';
import { TopicName } from '../ws/subscription.v1';

const messageFields = {
  /** Optional sender-chosen id: posting the same id twice delivers once. Minted when absent. */
  id: MeshMessageId.optional(),
  /** The sending agent; the caller's subject (`key:<prefix>`) when absent. */
  from: AgentId.optional(),
  kind: MeshKind,
  payload: JsonValue.default(null),
  correlation_id: z.string().min(1).max(128).optional(),
  ttl_ms: z.number().int().min(1).max(MESH_MAX_TTL_MS).optional(),
  traceparent: z.string().max(128).optional(),
  /** Request/reply (unicast only): wait up to this long for the target's run output (200) instead of answering 202. */
  wait_seconds: z.number().min(0.1).max(MAX_WAIT_SECONDS).optional(),
};

/** Body of `POST /mesh/messages`: exactly one of `to`, `topic` or `broadcast: true`. */
export const PostMeshMessageRequest = z
  .union([
    z.strictObject({ ...messageFields, to: AgentId }),
    z.strictObject({ ...messageFields, topic: TopicName }),
    z.strictObject({ ...messageFields, broadcast: z.literal(true) }),
  ])
  .refine((body) => body.wait_seconds === undefined || 'to' in body, { message: 'wait_seconds needs a unicast message (to)' });
export type PostMeshMessageRequest = z.infer<typeof PostMeshMessageRequest>;

/** Answer of `POST /mesh/messages`: 202 with the message id, or 200 with the reply when `wait_seconds` was given. */
export const PostMeshMessageResponse = z.object({
  id: MeshMessageId,
  status: z.enum(['accepted', 'replied']),
  reply: MeshReplyV1.optional(),
});
export type PostMeshMessageResponse = z.infer<typeof PostMeshMessageResponse>;

/** A coordinator is live this long after its last heartbeat (three missed beats at the default period). */
export const MESH_COORDINATOR_LIVE_MS = 15_000;
/** An agent is live this long after it last received a message, started or finished a run. */
export const MESH_AGENT_LIVE_MS = 60_000;
/**
 * The topic presence changes are published to (kind `presence.joined`, payload `{"kind":"agent","id"}`), in the
 * agent's tenant: sockets (and agents) subscribe to it like to any topic.
 */
export const MESH_PRESENCE_TOPIC = 'mesh.presence';

/** One live participant of the mesh. */
export const MeshPresenceEntry = z.object({
  kind: z.enum(['coordinator', 'agent']),
  /** Coordinator WORKER_ID or agent id. */
  id: z.string(),
  last_seen: Timestamp,
  /** Coordinator: runs executing there; agent: its active plus waiting runs. */
  load: z.number().int().nonnegative(),
});
export type MeshPresenceEntry = z.infer<typeof MeshPresenceEntry>;

export const MeshPresenceList = z.object({ items: z.array(MeshPresenceEntry) });
export type MeshPresenceList = z.infer<typeof MeshPresenceList>;

/** A mesh message a coordinator gave up on, as the tenant sees it. */
export const MeshDeadLetter = z.object({
  /** Id of the dead-letter entry (for redrive and delete). */
  id: z.string(),
  reason: z.string(),
  detail: z.string(),
  deliveries: z.number().int().nonnegative(),
  ts: Timestamp,
  tenant_id: TenantId,
  /** The message as it was published. */
  message: JsonValue,
});
export type MeshDeadLetter = z.infer<typeof MeshDeadLetter>;

export const MeshDeadLetterList = z.object({ items: z.array(MeshDeadLetter) });
export type MeshDeadLetterList = z.infer<typeof MeshDeadLetterList>;

export const MeshDeadLetterParams = z.object({ id: z.string().regex(/^\d+-\d+$/, 'a dead-letter id') });
export type MeshDeadLetterParams = z.infer<typeof MeshDeadLetterParams>;

export const MeshDeadLetterQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });
export type MeshDeadLetterQuery = z.infer<typeof MeshDeadLetterQuery>;
