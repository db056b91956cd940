import { MeshReplyV1 } from '@skreaver/contracts';
import { sleep } from '@skreaver/util';
import type { RedisClient } from './redis-connection';

/** A live participant as Redis records it (agent-api adds agents' loads when listing). */
export interface PresenceRecord {
  id: string;
  lastSeenMs: number;
  load: number;
}

// A reply nobody waits for any more (the requester timed out or died) must not stay in Redis forever.
const REPLY_TTL_SECONDS = 600;
// Polling interval of `waitForReply`: short enough for request/reply latency, long enough to cost nothing.
const REPLY_POLL_MS = 50;

/**
 * The mesh's Redis state besides the message stream: duplicate markers, reply lists of request/reply, and presence.
 * Storage only; what counts as a duplicate, who is live and what a reply says is decided by the services.
 */
export class MeshStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  /**
   * Records that message `messageId` of `tenantId` is stream entry `entryId` (SET NX with a TTL) and says whether
   * the entry is the message's first publication: true for the first entry and for redeliveries of that same
   * entry, false for another entry with an id already seen (a sender's retry, a duplicate publish).
   */
  async claimMessage(tenantId: string, messageId: string, entryId: string, ttlSeconds: number): Promise<boolean> {
    const key = this.seenKey(tenantId, messageId);
    const set = await this.redis.set(key, entryId, 'EX', ttlSeconds, 'NX');
    if (set === 'OK') return true;
    return (await this.redis.get(key)) === entryId;
  }

  /** Forgets a message id (a dead letter is redriven as a new entry and must not be taken for a duplicate). */
  async forgetMessage(tenantId: string, messageId: string): Promise<void> {
    await this.redis.del(this.seenKey(tenantId, messageId));
  }

  /** Hands a reply to whoever waits on `replyTo`. */
  async sendReply(replyTo: string, reply: MeshReplyV1): Promise<void> {
    const key = this.replyKey(replyTo);
    await this.redis.multi().rpush(key, JSON.stringify(MeshReplyV1.parse(reply))).expire(key, REPLY_TTL_SECONDS).exec();
  }

  /**
   * The reply sent to `replyTo`, or null after `timeoutMs`. Polls the shared connection instead of BLPOP: a blocking
   * pop would need a dedicated connection per waiting request.
   */
  async waitForReply(replyTo: string, timeoutMs: number, signal?: AbortSignal): Promise<MeshReplyV1 | null> {
    const key = this.replyKey(replyTo);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const raw = await this.redis.lpop(key);
      if (raw !== null) {
        await this.redis.del(key);
        return MeshReplyV1.parse(JSON.parse(raw));
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return null;
      await sleep(Math.min(REPLY_POLL_MS, left), signal).catch(() => undefined);
    }
  }

  /** A coordinator's heartbeat with its load (runs executing there). */
  async heartbeatCoordinator(workerId: string, load: number, nowMs = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.coordinatorsKey(), nowMs, workerId)
      .hset(this.coordinatorLoadKey(), workerId, String(load))
      .exec();
  }

  /**
   * Marks agents of `tenantId` live now (they received a message or ran) and returns those that were not live
   * within `ttlMs` before: the ones that just joined.
   */
  async touchAgents(tenantId: string, agentIds: readonly string[], ttlMs: number, nowMs = Date.now()): Promise<string[]> {
    if (agentIds.length === 0) return [];
    const key = this.agentsKey(tenantId);
    const before = await this.redis.zmscore(key, ...agentIds);
    await this.redis.zadd(key, ...agentIds.flatMap((id) => [nowMs, id]));
    return agentIds.filter((_, i) => {
      const seen = before[i];
      return seen === null || seen === undefined || Number(seen) < nowMs - ttlMs;
    });
  }

  /** Coordinators seen within `ttlMs`; older ones are pruned. */
  async liveCoordinators(ttlMs: number, nowMs = Date.now()): Promise<PresenceRecord[]> {
    const stale = await this.redis.zrangebyscore(this.coordinatorsKey(), '-inf', `(${nowMs - ttlMs}`);
    if (stale.length > 0) {
      await this.redis.multi().zrem(this.coordinatorsKey(), ...stale).hdel(this.coordinatorLoadKey(), ...stale).exec();
    }
    const live = await this.redis.zrange(this.coordinatorsKey(), 0, -1, 'WITHSCORES');
    const loads = await this.redis.hgetall(this.coordinatorLoadKey());
    return pairs(live).map(([id, score]) => ({ id, lastSeenMs: Number(score), load: Number(loads[id] ?? 0) }));
  }

  /** Agents of `tenantId` seen within `ttlMs` (load 0: the caller knows their queues); older ones are pruned. */
  async liveAgents(tenantId: string, ttlMs: number, nowMs = Date.now()): Promise<PresenceRecord[]> {
    const key = this.agentsKey(tenantId);
    await this.redis.zremrangebyscore(key, '-inf', `(${nowMs - ttlMs}`);
    const live = await this.redis.zrange(key, 0, -1, 'WITHSCORES');
    return pairs(live).map(([id, score]) => ({ id, lastSeenMs: Number(score), load: 0 }));
  }

  private seenKey(tenantId: string, messageId: string): string {
    return `${this.keyPrefix}:mesh:seen:{${tenantId}}:${messageId}`;
  }

  private replyKey(replyTo: string): string {
    return `${this.keyPrefix}:mesh:reply:{${replyTo}}`;
  }

  // Both coordinator keys change in one MULTI: one hash tag puts them in one Redis Cluster slot.
  private coordinatorsKey(): string {
    return `${this.keyPrefix}:mesh:presence:{coordinators}`;
  }

  private coordinatorLoadKey(): string {
    return `${this.keyPrefix}:mesh:presence:{coordinators}:load`;
  }

  private agentsKey(tenantId: string): string {
    return `${this.keyPrefix}:mesh:presence:{${tenantId}}:agents`;
  }
}

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}
