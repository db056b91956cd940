import { Inject, Injectable } from '@nestjs/common';
import { MESH_AGENT_LIVE_MS, MESH_PRESENCE_TOPIC, Streams } from '@skreaver/contracts';
import { MeshStore, StreamProducer } from '@skreaver/messaging';
import { newId, nowIso } from '@skreaver/util';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';

/**
 * Agents' presence: live while they receive messages and run. An agent that was not live becomes so with a
 * `presence.joined` message on the tenant's `mesh.presence` topic, which sockets subscribe to like any topic.
 */
@Injectable()
export class AgentPresenceService {
  constructor(
    private readonly store: MeshStore,
    private readonly producer: StreamProducer,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {}

  async touch(tenantId: string, agentIds: readonly string[]): Promise<void> {
    const joined = await this.store.touchAgents(tenantId, agentIds, MESH_AGENT_LIVE_MS);
    for (const id of joined) {
      await this.producer.publish(
        Streams.meshMessages,
        {
          id: newId(),
          tenant_id: tenantId,
          from: this.config.WORKER_ID,
          topic: MESH_PRESENCE_TOPIC,
          kind: 'presence.joined',
          payload: { kind: 'agent', id },
          ts: nowIso(),
          // Presence is news only while it is current.
          ttl_ms: MESH_AGENT_LIVE_MS,
        },
        { maxLen: this.config.SKREAVER_MESH_STREAM_MAXLEN },
      );
    }
  }
}
