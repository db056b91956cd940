import { Inject, Injectable } from '@nestjs/common';
import { DeadLetterV1, MESH_AGENT_LIVE_MS, MESH_COORDINATOR_LIVE_MS, MeshEnvelopeV1, Streams, meshRouteOf, streamKey } from '@skreaver/contracts';
import type { MeshDeadLetter, MeshPresenceEntry, PostMeshMessageRequest, PostMeshMessageResponse, Principal } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { MeshStore, PAYLOAD_FIELD, REDIS, StreamProducer } from '@skreaver/messaging';
import { MeshBackpressureError, MeshNoRecipientError, MeshPublisher, RunDispatcher } from '@skreaver/runs';
import { newId, nowIso } from '@skreaver/util';
import type { RedisClient } from '@skreaver/messaging';

import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';
import { MeshApiMetrics } from './mesh-api.metrics';

/** Sending mesh messages (and waiting for replies), presence, and the tenant's mesh dead letters. */
@Injectable()
export class MeshService {
  constructor(
    private readonly publisher: MeshPublisher,
    private readonly store: MeshStore,
    private readonly dispatcher: RunDispatcher,
    private readonly producer: StreamProducer,
    private readonly metrics: MeshApiMetrics,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
  ) {}

  /** 503 `mesh_disabled` in direct mode (`SKREAVER_MESH_ENABLED=false`). */
  requireEnabled(): void {
    if (!this.config.SKREAVER_MESH_ENABLED) {
      throw new ApiError(503, 'mesh_disabled', 'The mesh is disabled (SKREAVER_MESH_ENABLED=false); run agents directly over HTTP');
    }
  }

  /**
   * Publishes the message (after checking its recipients' inboxes); with `wait_seconds`, waits for the target's run
   * output. 404 for an unknown addressee, 429 `mesh_backpressure` for a full inbox, 504 `mesh_timeout` without a reply.
   */
  async send(principal: Principal, body: PostMeshMessageRequest): Promise<PostMeshMessageResponse> {
    const { wait_seconds: waitSeconds, id, from, ...rest } = body;
    const messageId = id ?? newId();
    const replyTo = waitSeconds !== undefined ? newId() : undefined;
    const envelope = MeshEnvelopeV1.parse({
      ...rest,
      id: messageId,
      tenant_id: principal.tenant_id,
      from: from ?? principal.subject,
      ts: nowIso(),
      ...(replyTo !== undefined ? { reply_to: replyTo, correlation_id: body.correlation_id ?? messageId } : {}),
    });
    const route = meshRouteOf(envelope);
    try {
      await this.publisher.publish(envelope);
    } catch (error) {
      if (error instanceof MeshBackpressureError) {
        this.metrics.messages.inc({ route, status: 'backpressure' });
        throw new ApiError(429, 'mesh_backpressure', error.message, { agent_id: error.agentId, limit: error.limit });
      }
      if (error instanceof MeshNoRecipientError) throw ApiError.notFound(`agent ${error.agentId}`);
      // Redis or the database being down reaches the exception filter as a 503 (redisOutage, databaseOutage).
      throw error;
    }
    this.metrics.messages.inc({ route, status: 'accepted' });
    if (replyTo === undefined || waitSeconds === undefined) return { id: messageId, status: 'accepted' };
    const reply = await this.store.waitForReply(replyTo, waitSeconds * 1000);
    if (!reply) throw new ApiError(504, 'mesh_timeout', `no reply to message ${messageId} within ${waitSeconds} s`, { id: messageId });
    return { id: messageId, status: 'replied', reply };
  }

  /** Live coordinators (installation-wide) and the tenant's live agents with their load. */
  async presence(tenantId: string): Promise<MeshPresenceEntry[]> {
    const coordinators = await this.store.liveCoordinators(MESH_COORDINATOR_LIVE_MS);
    const agents = await this.store.liveAgents(tenantId, MESH_AGENT_LIVE_MS);
    const loads = await Promise.all(agents.map((agent) => this.dispatcher.depth(agent.id)));
    return [
      ...coordinators.map((c) => ({ kind: 'coordinator' as const, id: c.id, last_seen: new Date(c.lastSeenMs).toISOString(), load: c.load })),
      ...agents.map((a, i) => ({
        kind: 'agent' as const,
        id: a.id,
        last_seen: new Date(a.lastSeenMs).toISOString(),
        load: (loads[i]?.active ?? 0) + (loads[i]?.pending ?? 0),
      })),
    ];
  }

  /** The tenant's mesh dead letters, newest first. */
  async deadLetters(tenantId: string, limit: number): Promise<MeshDeadLetter[]> {
    const out: MeshDeadLetter[] = [];
    let end = '+';
    // Dead letters of every stream and tenant share one stream: page through it, keeping this tenant's mesh ones.
    for (let pages = 0; out.length < limit && pages < 100; pages += 1) {
      const entries = await this.redis.xrevrange(this.deadLetterKey(), end, '-', 'COUNT', 500);
      for (const [entryId, fields] of entries) {
        const letter = this.meshLetter(entryId, fields, tenantId);
        if (letter) out.push(letter);
        if (out.length >= limit) break;
      }
      const last = entries[entries.length - 1];
      if (entries.length < 500 || !last) break;
      end = `(${last[0]}`;
    }
    return out;
  }

  /** Publishes the dead letter's message again (as a new entry, not taken for a duplicate) and removes the letter. */
  async redrive(tenantId: string, id: string): Promise<PostMeshMessageResponse> {
    const letter = await this.findLetter(tenantId, id);
    const envelope = MeshEnvelopeV1.parse(letter.message);
    await this.store.forgetMessage(envelope.tenant_id, envelope.id);
    await this.producer.publish(Streams.meshMessages, { ...envelope, ts: nowIso() });
    await this.redis.xdel(this.deadLetterKey(), id);
    return { id: envelope.id, status: 'accepted' };
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.findLetter(tenantId, id);
    await this.redis.xdel(this.deadLetterKey(), id);
  }

  private async findLetter(tenantId: string, id: string): Promise<MeshDeadLetter> {
    const [entry] = await this.redis.xrange(this.deadLetterKey(), id, id);
    const letter = entry ? this.meshLetter(entry[0], entry[1], tenantId) : null;
    if (!letter) throw ApiError.notFound(`dead letter ${id}`);
    return letter;
  }

  /** The entry as a mesh dead letter of `tenantId`, or null (another stream's, another tenant's, unreadable). */
  private meshLetter(entryId: string, fields: string[], tenantId: string): MeshDeadLetter | null {
    const raw = fieldValue(fields, PAYLOAD_FIELD);
    const letter = raw === undefined ? undefined : DeadLetterV1.safeParse(safeJson(raw));
    if (!letter?.success || letter.data.stream !== streamKey(Streams.meshMessages, this.config.REDIS_KEY_PREFIX)) return null;
    const message = safeJson(letter.data.fields[PAYLOAD_FIELD] ?? '');
    const envelope = MeshEnvelopeV1.safeParse(message);
    if (!envelope.success || envelope.data.tenant_id !== tenantId) return null;
    const { reason, detail, deliveries, ts } = letter.data;
    return { id: entryId, reason, detail, deliveries, ts, tenant_id: tenantId, message: envelope.data };
  }

  private deadLetterKey(): string {
    return streamKey(Streams.deadLetters, this.config.REDIS_KEY_PREFIX);
  }
}

function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
