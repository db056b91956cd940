import { MeshEnvelopeV1, Streams, meshRouteOf } from '@skreaver/contracts';
import type { Agent } from '@skreaver/contracts';
import { StreamProducer } from '@skreaver/messaging';
import { AgentRepository } from '@skreaver/persistence';

import type { RunDispatcher } from './run-dispatcher';

/** A recipient's inbox (its active plus waiting runs) is at the limit: the message is refused, not dropped. */
export class MeshBackpressureError extends Error {
  constructor(
    readonly agentId: string,
    readonly limit: number,
  ) {
    super(`agent ${agentId} has ${limit} or more runs waiting; retry later`);
    this.name = 'MeshBackpressureError';
  }
}

/** The addressee of a unicast message does not exist in the sender's tenant. */
export class MeshNoRecipientError extends Error {
  constructor(readonly agentId: string) {
    super(`agent ${agentId} not found`);
    this.name = 'MeshNoRecipientError';
  }
}

export interface MeshPublisherOptions {
  /** Most runs (active + waiting) an agent may hold before messages to it are refused. */
  inboxLimit: number;
  /** Approximate MAXLEN of the mesh stream. */
  streamMaxLen?: number;
}

// Tenants' agent lists are read in pages of this size for topic and broadcast fan-out.
const PAGE = 500;

/**
 * Routing and admission of mesh messages, shared by agent-api (`POST /mesh/messages`) and coordinators (delivery,
 * the `mesh_send` / `mesh_request` tools): who an envelope reaches, whether their inboxes have room, and publishing.
 */
export class MeshPublisher {
  constructor(
    private readonly agents: AgentRepository,
    private readonly dispatcher: RunDispatcher,
    private readonly producer: StreamProducer,
    private readonly options: MeshPublisherOptions,
  ) {}

  /**
   * The agents an envelope reaches: the addressee (none when it does not exist in the tenant), the tenant's agents
   * whose config `subscriptions` lists the topic, or every agent of the tenant but the sender.
   */
  async recipients(envelope: MeshEnvelopeV1): Promise<Agent[]> {
    if ('to' in envelope) {
      const agent = await this.agents.findById(envelope.tenant_id, envelope.to);
      return agent ? [agent] : [];
    }
    const all = await this.allAgents(envelope.tenant_id);
    if ('topic' in envelope) return all.filter((agent) => subscriptionsOf(agent).includes(envelope.topic));
    return all.filter((agent) => agent.id !== envelope.from);
  }

  /** @throws MeshBackpressureError when the agent's inbox is full. */
  async checkInbox(agentId: string): Promise<void> {
    const depth = await this.dispatcher.depth(agentId);
    if (depth.active + depth.pending >= this.options.inboxLimit) throw new MeshBackpressureError(agentId, this.options.inboxLimit);
  }

  /**
   * How many more runs each agent's inbox takes now (the limit less its active and waiting runs; 0 when full), for
   * checking a batch of messages with one read per agent instead of one per message.
   */
  async inboxRoom(agentIds: readonly string[]): Promise<Map<string, number>> {
    const distinct = [...new Set(agentIds)];
    const depths = await Promise.all(distinct.map((id) => this.dispatcher.depth(id)));
    return new Map(distinct.map((id, i) => [id, Math.max(0, this.options.inboxLimit - ((depths[i]?.active ?? 0) + (depths[i]?.pending ?? 0)))]));
  }

  /** The inbox limit, for the error a batch reports for a full inbox. */
  get inboxLimit(): number {
    return this.options.inboxLimit;
  }

  /**
   * Checks the recipients' inboxes (before publishing: a refused message is never published), then appends the
   * envelope to the mesh stream. Returns the envelope as published.
   * @throws MeshNoRecipientError for a unicast message to an agent the tenant does not have.
   * @throws MeshBackpressureError when a recipient's inbox is full.
   */
  async publish(envelope: MeshEnvelopeV1): Promise<MeshEnvelopeV1> {
    const valid = MeshEnvelopeV1.parse(envelope);
    const recipients = await this.recipients(valid);
    if (meshRouteOf(valid) === 'unicast' && recipients.length === 0 && 'to' in valid) throw new MeshNoRecipientError(valid.to);
    for (const agent of recipients) await this.checkInbox(agent.id);
    await this.producer.publish(Streams.meshMessages, valid, { maxLen: this.options.streamMaxLen });
    return valid;
  }

  private async allAgents(tenantId: string): Promise<Agent[]> {
    const out: Agent[] = [];
    for (;;) {
      const last = out[out.length - 1];
      const page = await this.agents.list(tenantId, { limit: PAGE, before: last ? { created_at: last.created_at, id: last.id } : undefined });
      out.push(...page);
      if (page.length < PAGE) return out;
    }
  }
}

/** The topics an agent's config subscribes it to (shared config section `subscriptions`). */
export function subscriptionsOf(agent: Pick<Agent, 'config'>): string[] {
  const value = agent.config['subscriptions'];
  return Array.isArray(value) ? value.filter((topic): topic is string => typeof topic === 'string') : [];
}
