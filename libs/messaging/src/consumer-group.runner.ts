import { type DeadLetterV1, type StreamDef, type StreamPayload, Streams, streamKey } from '@skreaver/contracts';
import { Backoff, nowIso, sleep, untilAborted } from '@skreaver/util';
import type { RedisClient } from './redis-connection';

import { isRedisUnavailable } from './redis-errors';
import { endReadLoop, reopen } from './redis-lifecycle';
import {
  decodeEntry,
  createConsumerGroup,
  entriesOfReadReply,
  errorMessage,
  fieldsToRecord,
  parseAutoclaimReply,
  type RawStreamEntry,
} from './stream-entry';
import type { StreamProducer } from './stream-producer';

/** What a handler learns about the entry besides its payload. */
export interface DeliveryMeta {
  /** Redis entry id. */
  readonly id: string;
  /** 1 on first delivery; more when the entry was reclaimed after a failure or a dead consumer. */
  readonly deliveries: number;
}

/** One decoded entry handed to a `batchHandler`. */
export interface BatchItem<D extends StreamDef> {
  readonly payload: StreamPayload<D>;
  readonly meta: DeliveryMeta;
}

/**
 * What a `batchHandler` says about its entries: the ids that failed, with their errors (they are left pending, or
 * dead-lettered past `maxDeliveries`, exactly as when `handler` throws); every other entry of the batch is acked.
 */
export type BatchFailures = ReadonlyMap<string, unknown>;

/** Options of a `ConsumerGroupRunner`. */
export interface ConsumerGroupRunnerOptions<D extends StreamDef> {
  /** A dedicated connection made with `forBlocking: true`; nothing else may use it. */
  redis: RedisClient;
  keyPrefix: string;
  stream: D;
  partition?: string;
  group: string;
  /** Unique per process (e.g. `<hostname>-<pid>`): a restarted process must not reuse a dead one's name by accident. */
  consumer: string;
  /**
   * Resolving acks the entry; throwing leaves it pending for redelivery after `claimIdleMs`, except when the error
   * means a dependency is unreachable (`isRedisUnavailable`, or `isTransient`): then the handler is called again, with
   * backoff, until it succeeds or the runner stops. It must be idempotent either way.
   */
  handler: (payload: StreamPayload<D>, meta: DeliveryMeta) => Promise<void>;
  /**
   * Optional: handles the valid entries of one read (or reclaim page) together instead of `handler` one by one, and
   * they are acked together in one XACK. Throwing fails the whole batch (an outage is retried in place, like
   * `handler`'s); per-entry failures are returned. It must be idempotent per entry, like `handler`.
   */
  batchHandler?: (items: readonly BatchItem<D>[]) => Promise<BatchFailures>;
  /** XREADGROUP BLOCK time in ms; default 1000. Also bounds how long `stop()` waits for a blocked read. */
  blockMs?: number;
  /** Entries per XREADGROUP / XAUTOCLAIM page; default 50. */
  count?: number;
  /**
   * Optional bound on the bytes one read may bring into memory: after a read, the next one asks for at most
   * `readBytes / <largest entry of that read>` entries (never more than `count`, at least 1), so a large `count`
   * for small entries does not hold that many large ones at once once they show up.
   */
  readBytes?: number;
  /** Entries pending longer than this are reclaimed (XAUTOCLAIM); default 30000. Must exceed the slowest handler. */
  claimIdleMs?: number;
  /** Handler attempts before an entry is dead-lettered with reason `max_deliveries`; default 5. */
  maxDeliveries?: number;
  /** Publishes to `Streams.deadLetters`. */
  deadLetterProducer: StreamProducer;
  /** Redis errors (the runner retries with backoff) and handler failures (the entry stays pending). */
  onError?: (error: unknown) => void;
  /**
   * Besides Redis being unreachable, handler errors that say nothing about the entry (e.g. the handler's database is
   * down): retried in place like a Redis outage, never counted towards `maxDeliveries`.
   */
  isTransient?: (error: unknown) => boolean;
}

// Only the runner's own XREADGROUP can be outstanding when the safety timer fires; this margin covers its round trip.
const STOP_MARGIN_MS = 1_000;

/**
 * Processes a stream at least once with a Redis consumer group shared by every instance: XREADGROUP for new
 * entries, XAUTOCLAIM for entries a dead or failing consumer left pending, XACK after the handler succeeds, and the
 * dead-letter stream for entries that cannot be parsed or keep failing.
 * @see https://redis.io/docs/latest/develop/data-types/streams/#consumer-groups
 */
export class ConsumerGroupRunner<D extends StreamDef> {
  private readonly key: string;
  private readonly blockMs: number;
  private readonly count: number;
  /** Entries the next read asks for: `count`, fewer while entries are large (see `readBytes`). */
  private readCount: number;
  private readonly claimIdleMs: number;
  private readonly maxDeliveries: number;
  private stopping = false;
  private abort = new AbortController();
  // Aborted when stop() cuts the connection off: a client cut off between reconnect attempts never settles the
  // commands it queued, and the loop must not wait for them.
  private cut = new AbortController();
  private loop: Promise<void> | undefined;
  private inFlight: Promise<void> | undefined;
  private groupReady = false;

  constructor(private readonly options: ConsumerGroupRunnerOptions<D>) {
    this.key = streamKey(options.stream, options.keyPrefix, options.partition);
    this.blockMs = options.blockMs ?? 1_000;
    this.count = options.count ?? 50;
    this.readCount = this.count;
    this.claimIdleMs = options.claimIdleMs ?? 30_000;
    this.maxDeliveries = options.maxDeliveries ?? 5;
  }

  /**
   * Creates the group if missing (`XGROUP CREATE key group 0 MKSTREAM`), then starts the processing loop in the
   * background. Resolves once the group exists. After `stop()` it can be started again.
   * @throws Error when the group cannot be created for a reason other than Redis being unreachable.
   */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.abort = new AbortController();
    this.cut = new AbortController();
    reopen(this.options.redis);
    await this.ensureGroup();
    // stop() was called while the group was being created.
    if (this.stopping) return;
    this.loop = this.run().finally(() => (this.loop = undefined));
  }

  /**
   * Stops taking new entries, waits for the in-flight handler to finish (and its entry to be acked), then resolves.
   * Entries read but not yet handled stay pending and are reclaimed by another consumer after `claimIdleMs`.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    if (!this.loop) return;
    const loop = this.loop;
    while (this.inFlight) await this.inFlight;
    // The loop is now in XREADGROUP (at most blockMs) or acking.
    await endReadLoop(loop, this.options.redis, this.cut, this.blockMs + STOP_MARGIN_MS);
  }

  private async run(): Promise<void> {
    const backoff = new Backoff();
    // Claim once at start: entries a crashed predecessor left pending should not wait a whole period.
    let nextClaimAt = 0;
    while (!this.stopping) {
      try {
        if (!this.groupReady) await untilAborted(this.ensureGroup(), this.cut.signal);
        if (Date.now() >= nextClaimAt) {
          await untilAborted(this.reclaim(), this.cut.signal);
          nextClaimAt = Date.now() + Math.max(1, Math.floor(this.claimIdleMs / 2));
        }
        if (this.stopping) break;
        // Block no longer than the next claim is due, so reclaiming is not delayed by a quiet stream.
        const block = Math.max(1, Math.min(this.blockMs, nextClaimAt - Date.now()));
        const reply = await untilAborted(
          this.options.redis.xreadgroup('GROUP', this.options.group, this.options.consumer, 'COUNT', this.readCount, 'BLOCK', block, 'STREAMS', this.key, '>'),
          this.cut.signal,
        );
        backoff.reset();
        const entries = entriesOfReadReply(reply);
        this.sizeNextRead(entries);
        if (this.options.batchHandler) await this.processBatch(entries, () => 1);
        else {
          for (const [id, fields] of entries) {
            if (this.stopping) break;
            await this.process(id, fields, 1);
          }
        }
      } catch (error) {
        // NOGROUP: the stream or group vanished (e.g. Redis restarted without persistence); recreate it.
        if (errorMessage(error).startsWith('NOGROUP')) this.groupReady = false;
        if (this.stopping) break;
        this.options.onError?.(error);
        await sleep(backoff.next(), this.abort.signal).catch(() => undefined);
      }
    }
  }

  /** Fewer entries per read after a read of large ones (`readBytes`); back to `count` once they are small again. */
  private sizeNextRead(entries: readonly RawStreamEntry[]): void {
    const budget = this.options.readBytes;
    if (budget === undefined || entries.length === 0) return;
    let largest = 1;
    for (const [, fields] of entries) {
      let bytes = 0;
      // String length, not UTF-8 bytes: what V8 holds, and cheap to sum.
      for (const field of fields ?? []) bytes += field.length;
      if (bytes > largest) largest = bytes;
    }
    this.readCount = Math.max(1, Math.min(this.count, Math.floor(budget / largest)));
  }

  private async ensureGroup(): Promise<void> {
    await createConsumerGroup(this.options.redis, this.key, this.options.group);
    this.groupReady = true;
  }

  /** Takes over entries idle for claimIdleMs (dead consumers' and failed ones) and processes them. */
  private async reclaim(): Promise<void> {
    const { redis, group, consumer } = this.options;
    let cursor = '0-0';
    do {
      const reply = await redis.xautoclaim(this.key, group, consumer, this.claimIdleMs, cursor, 'COUNT', this.readCount);
      const [next, claimed] = parseAutoclaimReply(reply);
      cursor = next;
      // Redis < 7 returns entries deleted from the stream with null fields; nothing can process them.
      const deleted = claimed.filter(([, fields]) => fields === null).map(([id]) => id);
      if (deleted.length > 0) await redis.xack(this.key, group, ...deleted);
      const live = claimed.filter(([, fields]) => fields !== null);
      const deliveries = await this.deliveryCounts(live.map(([id]) => id));
      if (this.options.batchHandler) {
        if (this.stopping) return;
        await this.processBatch(live, (id) => deliveries.get(id) ?? 1);
        continue;
      }
      for (const [id, fields] of live) {
        if (this.stopping) return;
        await this.process(id, fields, deliveries.get(id) ?? 1);
      }
    } while (cursor !== '0-0' && !this.stopping);
  }

  /** XAUTOCLAIM increments the delivery count but does not return it; XPENDING per id does. */
  private async deliveryCounts(ids: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (ids.length === 0) return counts;
    const pipeline = this.options.redis.pipeline();
    for (const id of ids) pipeline.xpending(this.key, this.options.group, id, id, 1);
    const results = (await pipeline.exec()) ?? [];
    for (const [error, result] of results) {
      if (error) throw error;
      const row: unknown = Array.isArray(result) ? result[0] : undefined;
      if (Array.isArray(row) && typeof row[0] === 'string' && typeof row[3] === 'number') counts.set(row[0], row[3]);
    }
    return counts;
  }

  private async process(id: string, fields: readonly string[] | null, deliveries: number): Promise<void> {
    const decoded = decodeEntry(this.options.stream, fields);
    if (!decoded.ok) return this.deadLetter(id, fields, 'invalid_payload', decoded.error.message, deliveries);
    // Delivered more often than allowed without an ack: the handler keeps crashing the process or timing out.
    if (deliveries > this.maxDeliveries) {
      return this.deadLetter(id, fields, 'max_deliveries', `delivered ${deliveries} times without an ack`, deliveries);
    }
    const handled = this.handle(decoded.payload, { id, deliveries });
    this.inFlight = handled.then(
      () => undefined,
      () => undefined,
    );
    try {
      await handled;
    } catch (error) {
      // An outage (only possible here while stopping) is not the entry's fault: leave it pending.
      if (deliveries >= this.maxDeliveries && !this.isOutage(error)) {
        return this.deadLetter(id, fields, 'max_deliveries', errorMessage(error), deliveries);
      }
      // Left pending on purpose: XAUTOCLAIM redelivers it after claimIdleMs, here or on another instance.
      this.options.onError?.(error);
      return;
    } finally {
      this.inFlight = undefined;
    }
    await this.options.redis.xack(this.key, this.options.group, id);
  }

  /**
   * Batch mode: entries that cannot be parsed or were delivered too often are dead-lettered one by one (as in
   * `process`), the rest go to `batchHandler` together; those it does not report failed are acked in one XACK, only
   * after it resolved (so after whatever it made durable), which keeps delivery at least once.
   */
  private async processBatch(entries: readonly RawStreamEntry[], deliveriesOf: (id: string) => number): Promise<void> {
    const items: BatchItem<D>[] = [];
    const fieldsById = new Map<string, readonly string[] | null>();
    for (const [id, fields] of entries) {
      const deliveries = deliveriesOf(id);
      const decoded = decodeEntry(this.options.stream, fields);
      if (!decoded.ok) await this.deadLetter(id, fields, 'invalid_payload', decoded.error.message, deliveries);
      else if (deliveries > this.maxDeliveries) {
        await this.deadLetter(id, fields, 'max_deliveries', `delivered ${deliveries} times without an ack`, deliveries);
      } else {
        items.push({ payload: decoded.payload, meta: { id, deliveries } });
        fieldsById.set(id, fields);
      }
    }
    if (items.length === 0) return;
    const batchHandler = this.options.batchHandler;
    if (!batchHandler) return;
    let failures: BatchFailures;
    // An entry failing for an outage fails for no fault of its own: the whole batch is retried in place (the handler
    // is idempotent per entry), as `handle` does for one entry, instead of waiting claimIdleMs.
    const handled = this.retryOutages(async () => {
      const reported = await batchHandler(items);
      for (const error of reported.values()) if (this.isOutage(error)) throw error;
      return reported;
    });
    this.inFlight = handled.then(
      () => undefined,
      () => undefined,
    );
    try {
      failures = await handled;
    } catch (error) {
      failures = new Map(items.map((item) => [item.meta.id, error]));
    } finally {
      this.inFlight = undefined;
    }
    const acked: string[] = [];
    for (const { meta } of items) {
      if (!failures.has(meta.id)) {
        acked.push(meta.id);
        continue;
      }
      const error = failures.get(meta.id);
      if (meta.deliveries >= this.maxDeliveries && !this.isOutage(error)) {
        await this.deadLetter(meta.id, fieldsById.get(meta.id) ?? null, 'max_deliveries', errorMessage(error), meta.deliveries);
      } else {
        // Left pending on purpose: XAUTOCLAIM redelivers it after claimIdleMs, here or on another instance.
        this.options.onError?.(error);
      }
    }
    if (acked.length > 0) await this.options.redis.xack(this.key, this.options.group, ...acked);
  }

  /**
   * Calls the handler; while it fails because Redis is unreachable, calls it again after a backoff. Such a failure
   * says nothing about the entry, and leaving it pending would delay it by `claimIdleMs` (30 s by default) after
   * Redis is back, count against `maxDeliveries`, and let the loop fail the rest of its batch (and the next ones)
   * the same way: after a Redis restart the blocking connection can be back before the shared one the handler uses.
   */
  private handle(payload: StreamPayload<D>, meta: DeliveryMeta): Promise<void> {
    return this.retryOutages(() => this.options.handler(payload, meta));
  }

  /** Calls `work` again after a backoff while it fails because a dependency is unreachable (see `handle`). */
  private async retryOutages<T>(work: () => Promise<T>): Promise<T> {
    const backoff = new Backoff();
    for (;;) {
      try {
        // Through a promise chain so that a handler throwing synchronously is treated like one that rejects.
        return await Promise.resolve().then(work);
      } catch (error) {
        if (this.stopping || !this.isOutage(error)) throw error;
        this.options.onError?.(error);
        await sleep(backoff.next(), this.abort.signal).catch(() => undefined);
        // Stopping: the entry stays pending, for another consumer after claimIdleMs.
        if (this.stopping) throw error;
      }
    }
  }

  private isOutage(error: unknown): boolean {
    return isRedisUnavailable(error) || (this.options.isTransient?.(error) ?? false);
  }

  private async deadLetter(
    id: string,
    fields: readonly string[] | null,
    reason: DeadLetterV1['reason'],
    detail: string,
    deliveries: number,
  ): Promise<void> {
    // Publish first, ack second: if publishing fails the entry stays pending and is dead-lettered on redelivery.
    await this.options.deadLetterProducer.publish(Streams.deadLetters, {
      stream: this.key,
      entry_id: id,
      group: this.options.group,
      reason,
      detail,
      deliveries,
      fields: fields ? fieldsToRecord(fields) : {},
      ts: nowIso(),
    });
    await this.options.redis.xack(this.key, this.options.group, id);
  }
}
