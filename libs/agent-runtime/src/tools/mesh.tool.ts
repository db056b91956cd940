import { AgentId, JsonValue, MESH_MAX_TTL_MS, MeshKind, TopicName } from '@skreaver/contracts';
import type { MeshReplyV1 } from '@skreaver/contracts';
import { z } from 'zod';

import { ToolError, defineTool } from './tool-definition';

/** A message as an agent sends it: to an agent, a topic, or every agent of its tenant. */
export type MeshToolMessage = { kind: string; payload: JsonValue; ttl_ms?: number } & ({ to: string } | { topic: string } | { broadcast: true });

/**
 * The mesh as tools see it (the coordinator implements it over Redis). Refusals are `ToolError`s with stable codes:
 * `mesh_backpressure` (retryable), `not_found`, `mesh_timeout`, `mesh_disabled`.
 */
export interface MeshClient {
  /** Publishes a message from `from` (the calling agent); resolves with its id. */
  send(from: { tenantId: string; agentId: string }, message: MeshToolMessage): Promise<{ id: string }>;
  /** Sends a unicast request and resolves with the target run's outcome, or throws `mesh_timeout` after `timeoutMs`. */
  request(from: { tenantId: string; agentId: string }, message: MeshToolMessage & { to: string }, timeoutMs: number, signal: AbortSignal): Promise<MeshReplyV1>;
}

const common = { kind: MeshKind, payload: JsonValue.default(null), ttl_ms: z.number().int().min(1).max(MESH_MAX_TTL_MS).optional() };

// Longest a request may wait for its reply; the run's own timeout still applies.
const MAX_REQUEST_TIMEOUT_MS = 300_000;

function clientOf(mesh: MeshClient | undefined): MeshClient {
  if (!mesh) throw new ToolError('mesh_unavailable', 'the mesh is not available to this agent');
  return mesh;
}

/** `mesh_send`: sends a message to another agent, a topic or the whole tenant, without waiting. */
export const meshSendTool = defineTool({
  name: 'mesh_send',
  description:
    'Sends a message over the agent mesh to exactly one of: another agent ("to": agent id), a topic ("topic") or every agent of the tenant ("broadcast": true). Each recipient observes it as a run. Returns the message id.',
  inputSchema: z.union([
    z.strictObject({ ...common, to: AgentId }),
    z.strictObject({ ...common, topic: TopicName }),
    z.strictObject({ ...common, broadcast: z.literal(true) }),
  ]),
  async run(input, context) {
    const sent = await clientOf(context.mesh).send({ tenantId: context.tenantId, agentId: context.agentId }, input);
    return { id: sent.id, sent: true };
  },
});

/** `mesh_request`: sends a message to another agent and waits for the output of the run it becomes. */
export const meshRequestTool = defineTool({
  name: 'mesh_request',
  description:
    'Sends a request to another agent ("to": agent id) and waits up to timeout_ms (default 30000) for the output of the run it becomes; fails with mesh_timeout after the deadline.',
  inputSchema: z.strictObject({ ...common, to: AgentId, timeout_ms: z.number().int().min(100).max(MAX_REQUEST_TIMEOUT_MS).default(30_000) }),
  async run(input, context) {
    const { timeout_ms: timeoutMs, ...message } = input;
    const reply = await clientOf(context.mesh).request({ tenantId: context.tenantId, agentId: context.agentId }, message, timeoutMs, context.signal);
    return { id: reply.message_id, from: reply.from, run_id: reply.run_id, status: reply.status, output: reply.output, error: reply.error };
  },
});
