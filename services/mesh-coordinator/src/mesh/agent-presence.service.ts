import { Inject, Injectable } from '@nestjs/common';
import { MESH_AGENT_LIVE_MS, MESH_PRESENCE_TOPIC, Streams } from '@skreaver/contracts';
import { MeshStore, StreamProducer } from '@skreaver/messaging';
import { newId, nowIso } from '@skreaver/util';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';

// An agent touched this recently is live for most of MESH_AGENT_LIVE_MS still: touching it again changes nothing but
// `last_seen` (by at most this much), and would cost a Redis round trip per run of a busy agent.
const TOUCH_INTERVAL_MS = 5_000;
const MAX_REMEMBERED_AGENTS = 10_000;

/**
 * Agents' presence: live while they receive messages and run. An agent that was not live becomes so with a
 * `presence.joined` message on the tenant's `mesh.presence` topic, which sockets subscribe to like any topic.
 */
@Injectable()
export class AgentPresenceService {
  /** When this process last touched each agent (`<tenant>/<agent>`), in ms. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: MeshStore,
    private readonly producer: StreamProducer,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {}

  async touch(tenantId: string, agentIds: readonly string[]): Promise<void> {
    const now = Date.now();
    const due = agentIds.filter((id) => now - (this.touched.get(`${tenantId}/${id}`) ?? -Infinity) >= TOUCH_INTERVAL_MS);
    if (due.length === 0) return;
    const joined = await this.store.touchAgents(tenantId, due, MESH_AGENT_LIVE_MS);
    if (this.touched.size + due.length > MAX_REMEMBERED_AGENTS) this.touched.clear();
    for (const id of due) this.touched.set(`${tenantId}/${id}`, now);
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
