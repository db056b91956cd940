import { ToolError } from '@skreaver/agent-runtime';
import type { MeshClient, MeshToolMessage } from '@skreaver/agent-runtime';
import { MeshEnvelopeV1 } from '@skreaver/contracts';
import type { MeshReplyV1 } from '@skreaver/contracts';
import type { MeshStore } from '@skreaver/messaging';
import { MeshBackpressureError, MeshNoRecipientError } from '../mesh-publisher';
import type { MeshPublisher } from '../mesh-publisher';
import { newId, nowIso } from '@skreaver/util';

/** `mesh_send` / `mesh_request` of agents running here: the same publishing (and inbox checks) as `POST /mesh/messages`. */
export class PublishingMeshClient implements MeshClient {
  constructor(
    private readonly publisher: MeshPublisher,
    private readonly store: MeshStore,
    private readonly enabled: boolean,
  ) {}

  async send(from: { tenantId: string; agentId: string }, message: MeshToolMessage): Promise<{ id: string }> {
    const envelope = await this.publish(from, message, {});
    return { id: envelope.id };
  }

  async request(
    from: { tenantId: string; agentId: string },
    message: MeshToolMessage & { to: string },
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<MeshReplyV1> {
    const replyTo = newId();
    const envelope = await this.publish(from, message, { reply_to: replyTo });
    const reply = await this.store.waitForReply(replyTo, timeoutMs, signal);
    if (!reply) throw new ToolError('mesh_timeout', `no reply from agent ${message.to} within ${timeoutMs} ms (message ${envelope.id})`, true);
    return reply;
  }

  private async publish(from: { tenantId: string; agentId: string }, message: MeshToolMessage, extra: { reply_to?: string }): Promise<MeshEnvelopeV1> {
    if (!this.enabled) throw new ToolError('mesh_disabled', 'the mesh is disabled (SKREAVER_MESH_ENABLED=false)');
    const id = newId();
    const envelope = MeshEnvelopeV1.parse({
      ...message,
      id,
      tenant_id: from.tenantId,
      from: from.agentId,
      ts: nowIso(),
      ...(extra.reply_to !== undefined ? { reply_to: extra.reply_to, correlation_id: id } : {}),
    });
    try {
      return await this.publisher.publish(envelope);
    } catch (error) {
      if (error instanceof MeshBackpressureError) throw new ToolError('mesh_backpressure', error.message, true);
      if (error instanceof MeshNoRecipientError) throw new ToolError('not_found', error.message);
      throw error;
    }
  }
}
