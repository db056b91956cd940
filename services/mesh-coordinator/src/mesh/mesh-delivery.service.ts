import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { MESH_MAX_TTL_MS, Streams, meshRouteOf, streamKey } from '@skreaver/contracts';
import type { Agent, MeshEnvelopeV1, MeshRunInput } from '@skreaver/contracts';
import { ConsumerGroupRunner, MeshStore, PAYLOAD_FIELD, RedisConnections, StreamProducer, isRedisUnavailable } from '@skreaver/messaging';
import type { BatchFailures, BatchItem, DeliveryMeta } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { DatabaseHealth, isDatabaseUnavailable } from '@skreaver/persistence';
import { MeshBackpressureError, MeshPublisher, RunBatchCreator, RunCreator } from '@skreaver/runs';
import { nowIso, sleep } from '@skreaver/util';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';
import { AgentPresenceService } from './agent-presence.service';
import { MeshMetrics } from './mesh-metrics';

/** Consumer group of the coordinators on the mesh stream. */
export const MESH_GROUP = 'mesh-delivery';

// Duplicate markers live as long as a message may: past the longest TTL a resent id is a new message anyway.
const SEEN_TTL_SECONDS = Math.ceil(MESH_MAX_TTL_MS / 1000);

// Entries per read: a whole read is delivered together (one transaction, one bulk enqueue, one XACK), so a larger
// read costs less per message, and a backlog drains in fewer batches, each of which waits its turn on the event loop
// behind the runs this coordinator executes (with 100, a burst delivered at roughly half the rate it does with 500,
// see bench/README.md). 500 small messages are a batch of ~0.1 s of CPU, far below the claim idle time.
const READ_BATCH = 500;
// …but never more than this many bytes of entries in one read: large messages shrink the next reads (`readBytes`).
const READ_BYTES = 16 * 1024 * 1024;

type MeshItem = BatchItem<typeof Streams.meshMessages>;

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
    private readonly batchCreator: RunBatchCreator,
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
      count: READ_BATCH,
      readBytes: READ_BYTES,
      claimIdleMs: this.config.SKREAVER_MESH_CLAIM_IDLE_MS,
      maxDeliveries: this.config.SKREAVER_MESH_MAX_DELIVERIES,
      deadLetterProducer: this.producer,
      // A delivery creates a run in the database: while it is down the message waits, it is not dead-lettered.
      isTransient: isDatabaseUnavailable,
      handler: (envelope, meta) => this.deliver(envelope, meta),
      batchHandler: (items) => this.deliverBatch(items),
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
   * Delivers the entries of one read together: duplicate markers in one pipeline, each addressee looked up and its
   * inbox read once, the unicast runs created by `RunBatchCreator` (one transaction, pipelined log and admission, one
   * bulk enqueue). What the batch cannot take goes through `deliver`, one entry at a time, in stream order: topic and
   * broadcast messages, addressees whose policy is `reject` or `interrupt`, redeliveries (their run may exist) and
   * messages whose run key is already taken. The runner acks every entry not returned as failed, in one XACK.
   */
  async deliverBatch(items: readonly MeshItem[]): Promise<BatchFailures> {
    const failures = new Map<string, unknown>();
    // A redelivery may already have its run (a crash after the commit): `deliver` finds and resumes it.
    const firstUnicast = items.filter(({ payload, meta }) => 'to' in payload && meta.deliveries === 1);
    // The three reads at once (one wait instead of three): duplicate markers, addressees, their inboxes. Each
    // addressee looked up once (an agent deleted meanwhile fails its runs' insert, see flushBatch) and its inbox
    // read once, by the agent id the message is addressed to; reading those of duplicates too is harmless.
    const lookups = new Map<string, MeshEnvelopeV1>();
    for (const { payload } of firstUnicast) lookups.set(addresseeKey(payload), payload);
    const [claimed, found, room] = await Promise.all([
      this.store.claimMessages(
        items.map(({ payload, meta }) => ({ tenantId: payload.tenant_id, messageId: payload.id, entryId: meta.id })),
        SEEN_TTL_SECONDS,
      ),
      Promise.all([...lookups.values()].map((envelope) => this.publisher.recipients(envelope))),
      this.publisher.inboxRoom(firstUnicast.map(({ payload }) => ('to' in payload ? payload.to : ''))),
    ]);
    const addressees = new Map([...lookups.keys()].map((key, i) => [key, found[i]?.[0] ?? null]));
    const now = Date.now();
    const unicast = new Set<MeshItem>();
    const rest: MeshItem[] = [];
    for (const item of items) {
      const { payload: envelope, meta } = item;
      if (!claimed.has(meta.id)) {
        this.metrics.messages.inc({ route: meshRouteOf(envelope), status: 'duplicate' });
        this.logger.write('info', 'Duplicate mesh message dropped', this.fieldsOf(envelope, meta), 'mesh');
        continue;
      }
      if (envelope.ttl_ms !== undefined && Date.parse(envelope.ts) + envelope.ttl_ms < now) {
        this.metrics.messages.inc({ route: meshRouteOf(envelope), status: 'expired' });
        this.logger.write('info', 'Expired mesh message not delivered', { ...this.fieldsOf(envelope, meta), ttl_ms: envelope.ttl_ms }, 'mesh');
        continue;
      }
      if ('to' in envelope && meta.deliveries === 1) unicast.add(item);
      rest.push(item);
    }
    // In stream order (reads and claims return entries in that order): each entry joins the current batch or goes
    // alone after it, so the runs of one addressee are queued in stream order whichever way they go.
    const plan: { item: MeshItem; agent: Agent | null }[] = [];
    for (const item of rest) {
      if (!unicast.has(item)) {
        plan.push({ item, agent: null });
        continue;
      }
      const agent = addressees.get(addresseeKey(item.payload)) ?? null;
      if (agent === null) {
        this.metrics.messages.inc({ route: 'unicast', status: 'no_recipient' });
        await this.deadLetter(item.payload, item.meta, 'addressee not found in the tenant');
      } else plan.push({ item, agent: RunBatchCreator.accepts(agent) ? agent : null });
    }

    // The batch's own messages count against the room each inbox had.
    let pending: { item: MeshItem; agent: Agent }[] = [];
    for (const step of plan) {
      if (step.agent === null) {
        await this.flushBatch(pending, failures);
        pending = [];
        await this.deliverOne(step.item, failures);
        continue;
      }
      const left = room.get(step.agent.id) ?? 0;
      if (left > 0) {
        room.set(step.agent.id, left - 1);
        pending.push({ item: step.item, agent: step.agent });
        continue;
      }
      const { meta } = step.item;
      this.metrics.messages.inc({ route: 'unicast', status: meta.deliveries >= this.config.SKREAVER_MESH_MAX_DELIVERIES ? 'failed' : 'refused' });
      failures.set(meta.id, new MeshBackpressureError(step.agent.id, this.publisher.inboxLimit));
    }
    await this.flushBatch(pending, failures);
    return failures;
  }

  /** Creates the runs of `batch` together; the messages whose run key is taken go through `deliver`, in order. */
  private async flushBatch(batch: readonly { item: MeshItem; agent: Agent }[], failures: Map<string, unknown>): Promise<void> {
    if (batch.length === 0) return;
    let runIds: (string | null)[];
    try {
      runIds = await this.batchCreator.createQueued(
        batch.map(({ item, agent }) => ({ agent, input: meshRunInput(item.payload), idempotencyKey: `mesh:${item.payload.id}` })),
        'mesh',
      );
    } catch (error) {
      // Redis or the database unreachable: the runner retries the whole read, which is idempotent per entry.
      if (isRedisUnavailable(error) || isDatabaseUnavailable(error) || isRedisUnavailable(causeOf(error))) throw error;
      // Anything else (e.g. an addressee deleted meanwhile fails the transaction): one by one, so only the message
      // at fault fails; runs already stored are found again by their keys.
      this.logger.write('warn', 'Mesh batch failed; delivering its messages one by one', { error: String(error), messages: batch.length }, 'mesh');
      for (const { item } of batch) await this.deliverOne(item, failures);
      return;
    }
    const delivered = batch.filter((_, i) => runIds[i] !== null);
    await this.touchAll(delivered.map(({ item, agent }) => ({ tenantId: item.payload.tenant_id, agentId: agent.id })));
    const deliveredAt = Date.now();
    for (const { item } of delivered) {
      this.metrics.messages.inc({ route: 'unicast', status: 'delivered' });
      this.metrics.latency.observe(Math.max(0, deliveredAt - Date.parse(item.payload.ts)) / 1000);
      this.logger.write('debug', 'Mesh message delivered', { ...this.fieldsOf(item.payload, item.meta), recipients: 1, batch: batch.length }, 'mesh');
    }
    // Taken keys: an earlier delivery made the run (e.g. a redriven message); `deliver` finds and resumes it.
    for (const [i, { item }] of batch.entries()) if (runIds[i] === null) await this.deliverOne(item, failures);
  }

  private async deliverOne({ payload, meta }: MeshItem, failures: Map<string, unknown>): Promise<void> {
    try {
      await this.deliver(payload, meta);
    } catch (error) {
      failures.set(meta.id, error);
    }
  }

  private async touchAll(targets: readonly { tenantId: string; agentId: string }[]): Promise<void> {
    const byTenant = new Map<string, Set<string>>();
    for (const { tenantId, agentId } of targets) byTenant.set(tenantId, (byTenant.get(tenantId) ?? new Set()).add(agentId));
    await Promise.all([...byTenant].map(([tenantId, ids]) => this.presence.touch(tenantId, [...ids])));
  }

  private fieldsOf(envelope: MeshEnvelopeV1, meta: DeliveryMeta): Record<string, unknown> {
    return { message_id: envelope.id, tenant_id: envelope.tenant_id, route: meshRouteOf(envelope), entry_id: meta.id, deliveries: meta.deliveries };
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
    const input = meshRunInput(envelope);
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

/** The input of the run a message becomes: `{ mesh: {…}, payload }`. */
function meshRunInput(envelope: MeshEnvelopeV1): MeshRunInput {
  return {
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
}

function addresseeKey(envelope: MeshEnvelopeV1): string {
  return `${envelope.tenant_id}/${'to' in envelope ? envelope.to : ''}`;
}

function causeOf(error: unknown): unknown {
  return error instanceof Error ? error.cause : undefined;
}

