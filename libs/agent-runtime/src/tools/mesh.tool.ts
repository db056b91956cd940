import { AgentId, JsonValue, MESH_MAX_TTL_MS, MeshKind, TopicName } from '@skreaver/contracts';
import { z } from 'zod';

import type { MeshClient } from './mesh-client';
import { ToolError, defineTool } from './tool-definition';

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
