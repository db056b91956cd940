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
// Polling interval of `waitForReply` when no blocking connection is free (or none can be opened).
const REPLY_POLL_MS = 50;
// Requests waiting with BLPOP at once, one dedicated connection each; more wait by polling instead of opening more.
const MAX_BLOCKING_WAITERS = 16;
// Past BLPOP's own timeout, how long a blocked pop may take (Redis unreachable) before its connection is dropped.
const BLOCK_MARGIN_MS = 1_000;

/**
 * The mesh's Redis state besides the message stream: duplicate markers, reply lists of request/reply, and presence.
 * Storage only; what counts as a duplicate, who is live and what a reply says is decided by the services.
 */
export class MeshStore {
  /** Blocking connections not in use; `opened` counts those in use too. */
  private readonly idle: RedisClient[] = [];
  private opened = 0;

  /**
   * @param blocking opens a dedicated connection for a blocked `waitForReply` (BLPOP); without it replies are polled.
   * At most 16 are opened, and reused; they are closed by whoever owns them (`RedisConnections`).
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly blocking?: () => RedisClient,
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

  /**
   * `claimMessage` for many messages: one pipeline per tenant (the markers of a tenant share its hash slot, so each
   * pipeline stays on one Redis Cluster node), SET NX then GET per message. Resolves with the entry ids whose
   * message is claimed (first publication, or a redelivery of the same entry).
   */
  async claimMessages(messages: readonly { tenantId: string; messageId: string; entryId: string }[], ttlSeconds: number): Promise<Set<string>> {
    const byTenant = new Map<string, { messageId: string; entryId: string }[]>();
    for (const { tenantId, messageId, entryId } of messages) {
      const group = byTenant.get(tenantId) ?? [];
      group.push({ messageId, entryId });
      byTenant.set(tenantId, group);
    }
    const claimed = new Set<string>();
    await Promise.all(
      [...byTenant].map(async ([tenantId, group]) => {
        const pipeline = this.redis.pipeline();
        for (const { messageId, entryId } of group) {
          const key = this.seenKey(tenantId, messageId);
          pipeline.set(key, entryId, 'EX', ttlSeconds, 'NX').get(key);
        }
        const results = (await pipeline.exec()) ?? [];
        group.forEach(({ entryId }, i) => {
          const [setError] = results[2 * i] ?? [new Error('missing pipeline reply')];
          const [error, holder] = results[2 * i + 1] ?? [new Error('missing pipeline reply'), null];
          if (setError) throw setError;
          if (error) throw error;
          if (holder === entryId) claimed.add(entryId);
        });
      }),
    );
    return claimed;
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
   * The reply sent to `replyTo`, or null after `timeoutMs` (or once `signal` aborts). Blocks on the reply list
   * (BLPOP on a dedicated connection from a small pool), so the reply is handed over as soon as it is pushed; when
   * every pooled connection is taken it polls the shared connection instead.
   */
  async waitForReply(replyTo: string, timeoutMs: number, signal?: AbortSignal): Promise<MeshReplyV1 | null> {
    const connection = this.takeBlocking();
    if (!connection) return this.pollForReply(replyTo, timeoutMs, signal);
    const key = this.replyKey(replyTo);
    let clean = false;
    try {
      if (signal?.aborted || timeoutMs <= 0) {
        clean = true;
        return null;
      }
      const popped = await blockingPop(connection, key, timeoutMs, signal);
      clean = popped !== 'interrupted';
      if (popped === null || popped === 'interrupted') return null;
      await this.redis.del(key);
      return MeshReplyV1.parse(JSON.parse(popped));
    } finally {
      this.giveBack(connection, clean);
    }
  }

  private async pollForReply(replyTo: string, timeoutMs: number, signal?: AbortSignal): Promise<MeshReplyV1 | null> {
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

  private takeBlocking(): RedisClient | undefined {
    const free = this.idle.pop();
    if (free) return free;
    if (!this.blocking || this.opened >= MAX_BLOCKING_WAITERS) return undefined;
    this.opened += 1;
    return this.blocking();
  }

  /** A connection whose BLPOP was cut short may still deliver its reply later: it is dropped, not reused. */
  private giveBack(connection: RedisClient, clean: boolean): void {
    if (clean) {
      this.idle.push(connection);
      return;
    }
    this.opened -= 1;
    connection.disconnect();
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

/**
 * BLPOP `key` for up to `timeoutMs`: the popped value, null when the timeout passed, or `interrupted` when `signal`
 * aborted or Redis did not answer within the timeout and a margin (unreachable): the connection then has a command
 * outstanding and must not be reused.
 */
async function blockingPop(connection: RedisClient, key: string, timeoutMs: number, signal?: AbortSignal): Promise<string | null | 'interrupted'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<'interrupted'>((resolve) => {
    timer = setTimeout(() => resolve('interrupted'), timeoutMs + BLOCK_MARGIN_MS);
    onAbort = () => resolve('interrupted');
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  // BLPOP takes seconds; Redis 6+ accepts a decimal timeout. 0 would block forever, hence the floor of 1 ms.
  const pop = connection.blpop(key, Math.max(1, timeoutMs) / 1000).then((reply) => reply?.[1] ?? null);
  try {
    return await Promise.race([pop, cut]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // A pop that loses the race still settles later (with the reply or an error); nobody awaits it then.
    pop.catch(() => undefined);
  }
}
