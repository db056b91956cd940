import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { MESH_MAX_TTL_MS, Streams, meshRouteOf, streamKey } from '@skreaver/contracts';
import type { Agent, MeshEnvelopeV1, MeshRunInput } from '@skreaver/contracts';
import { ConsumerGroupRunner, MeshStore, PAYLOAD_FIELD, RedisConnections, StreamProducer } from '@skreaver/messaging';
import type { DeliveryMeta } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { DatabaseHealth, isDatabaseUnavailable } from '@skreaver/persistence';
import { MeshPublisher, RunCreator } from '@skreaver/runs';
import { nowIso, sleep } from '@skreaver/util';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';
import { AgentPresenceService } from './agent-presence.service';
import { MeshMetrics } from './mesh-metrics';

/** Consumer group of the coordinators on the mesh stream. */
export const MESH_GROUP = 'mesh-delivery';

// Duplicate markers live as long as a message may: past the longest TTL a resent id is a new message anyway.
const SEEN_TTL_SECONDS = Math.ceil(MESH_MAX_TTL_MS / 1000);

/**
 * Delivers mesh messages: every coordinator consumes the mesh stream in one consumer group (named after its
 * WORKER_ID, so coordinators split the messages and a dead one's pending entries are reclaimed by the others), and
 * each message becomes one run (`source: "mesh"`) per recipient. Runs are keyed by `mesh:<message id>` per agent, so
 * a redelivered entry never makes a second run; a resent id (another entry) is dropped as a duplicate.
 *
 * Order: one consumer handles its entries in stream order, so the runs of one sender→receiver pair are queued in
 * send order while one coordinator delivers them. With several coordinators two consecutive messages of a pair may
 * be handled concurrently by two consumers and queued in either order (runs of a `parallel` agent run concurrently
 * anyway); senders that need strict order wait for each reply (`mesh_request`) before sending the next.
 */
@Injectable()
export class MeshDeliveryService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private runner: ConsumerGroupRunner<typeof Streams.meshMessages> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly publisher: MeshPublisher,
    private readonly creator: RunCreator,
    private readonly store: MeshStore,
    private readonly presence: AgentPresenceService,
    private readonly producer: StreamProducer,
    private readonly connections: RedisConnections,
    private readonly database: DatabaseHealth,
    private readonly metrics: MeshMetrics,
    private readonly logger: JsonLogger,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.SKREAVER_MESH_ENABLED) return;
    void this.start().catch((error: unknown) =>
      this.logger.write('error', 'Mesh delivery could not start', { error: String(error) }, 'mesh'),
    );
  }

  private async start(): Promise<void> {
    // Runs need the schema agent-api migrates; delivering against an old one would fail every message.
    while (!this.stopping.signal.aborted && (await this.database.hasPendingMigrations().catch(() => true))) {
      await sleep(500, this.stopping.signal).catch(() => undefined);
    }
    if (this.stopping.signal.aborted) return;
    this.runner = new ConsumerGroupRunner({
      redis: this.connections.blocking('mesh-delivery'),
      keyPrefix: this.config.REDIS_KEY_PREFIX,
      stream: Streams.meshMessages,
      group: MESH_GROUP,
      consumer: this.config.WORKER_ID,
      // Small batches: entries of a batch wait in this consumer's name while the ones before them are delivered,
      // and a tail idle past claimIdleMs would be reclaimed (and delivered again, harmlessly) by another coordinator.
      count: 10,
      claimIdleMs: this.config.SKREAVER_MESH_CLAIM_IDLE_MS,
      maxDeliveries: this.config.SKREAVER_MESH_MAX_DELIVERIES,
      deadLetterProducer: this.producer,
      // A delivery creates a run in the database: while it is down the message waits, it is not dead-lettered.
      isTransient: isDatabaseUnavailable,
      handler: (envelope, meta) => this.deliver(envelope, meta),
      onError: (error) => this.logger.write('warn', 'Mesh delivery failed; the entry will be retried', { error: String(error) }, 'mesh'),
    });
    await this.runner.start();
    this.logger.write('info', 'Mesh delivery started', { group: MESH_GROUP, consumer: this.config.WORKER_ID }, 'mesh');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.runner?.stop();
  }

  /**
   * Delivers one entry; resolving acks it, throwing leaves it pending for redelivery (and, after the allowed
   * deliveries, the dead-letter stream). A full inbox throws: the message waits in the stream instead of being lost.
   */
  async deliver(envelope: MeshEnvelopeV1, meta: DeliveryMeta): Promise<void> {
    const route = meshRouteOf(envelope);
    const fields = { message_id: envelope.id, tenant_id: envelope.tenant_id, route, entry_id: meta.id, deliveries: meta.deliveries };
    if (!(await this.store.claimMessage(envelope.tenant_id, envelope.id, meta.id, SEEN_TTL_SECONDS))) {
      this.metrics.messages.inc({ route, status: 'duplicate' });
      this.logger.write('info', 'Duplicate mesh message dropped', fields, 'mesh');
      return;
    }
    if (envelope.ttl_ms !== undefined && Date.parse(envelope.ts) + envelope.ttl_ms < Date.now()) {
      this.metrics.messages.inc({ route, status: 'expired' });
      this.logger.write('info', 'Expired mesh message not delivered', { ...fields, ttl_ms: envelope.ttl_ms }, 'mesh');
      return;
    }
    const recipients = await this.publisher.recipients(envelope);
    if (route === 'unicast' && recipients.length === 0) {
      this.metrics.messages.inc({ route, status: 'no_recipient' });
      await this.deadLetter(envelope, meta, 'addressee not found in the tenant');
      return;
    }
    try {
      for (const agent of recipients) await this.deliverTo(agent, envelope);
    } catch (error) {
      this.metrics.messages.inc({ route, status: meta.deliveries >= this.config.SKREAVER_MESH_MAX_DELIVERIES ? 'failed' : 'refused' });
      throw error;
    }
    await this.presence.touch(envelope.tenant_id, recipients.map((agent) => agent.id));
    this.metrics.messages.inc({ route, status: 'delivered' });
    this.metrics.latency.observe(Math.max(0, Date.now() - Date.parse(envelope.ts)) / 1000);
    this.logger.write('debug', 'Mesh message delivered', { ...fields, recipients: recipients.length }, 'mesh');
  }

  private async deliverTo(agent: Agent, envelope: MeshEnvelopeV1): Promise<void> {
    const idempotencyKey = `mesh:${envelope.id}`;
    const input: MeshRunInput = {
      mesh: {
        message_id: envelope.id,
        from: envelope.from,
        kind: envelope.kind,
        ...('topic' in envelope ? { topic: envelope.topic } : {}),
        ...(envelope.correlation_id !== undefined ? { correlation_id: envelope.correlation_id } : {}),
        ...(envelope.reply_to !== undefined ? { reply_to: envelope.reply_to } : {}),
        ...(envelope.traceparent !== undefined ? { traceparent: envelope.traceparent } : {}),
      },
      payload: envelope.payload,
    };
    // The inbox is checked only for a new run: a redelivery must not be refused because of the run it made itself.
    await this.creator.create(agent, input, { source: 'mesh', idempotencyKey, precheck: () => this.publisher.checkInbox(agent.id) });
  }

  /** A message nobody can receive goes to the dead-letter stream with the reason, then is acked. */
  private async deadLetter(envelope: MeshEnvelopeV1, meta: DeliveryMeta, detail: string): Promise<void> {
    await this.producer.publish(Streams.deadLetters, {
      stream: streamKey(Streams.meshMessages, this.config.REDIS_KEY_PREFIX),
      entry_id: meta.id,
      group: MESH_GROUP,
      reason: 'no_recipient',
      detail,
      deliveries: meta.deliveries,
      fields: { [PAYLOAD_FIELD]: JSON.stringify(envelope) },
      ts: nowIso(),
    });
  }
}
