import { type StreamDef, streamKey } from '@skreaver/contracts';
import { Backoff, sleep, untilAborted } from '@skreaver/util';
import type { RedisClient } from './redis-connection';

import { reopen, whenEnded } from './redis-lifecycle';
import { decodeEntry, entriesOfReadReply, type StreamEntry } from './stream-entry';

/** Options of a `StreamTailer`. */
export interface StreamTailerOptions<D extends StreamDef> {
  /** A dedicated connection made with `forBlocking: true`: the tailer blocks on it and closes it in `stop()`. */
  redis: RedisClient;
  keyPrefix: string;
  stream: D;
  partition?: string;
  /** `'$'` (default): only entries appended after `start()`; or an entry id to resume after (exclusive). */
  from?: string;
  /** XREAD BLOCK time in ms; default 1000. */
  blockMs?: number;
  /** XREAD COUNT; default 500. */
  count?: number;
  /** Receives each batch in stream order; the next batch is read only after it resolves. */
  onEntries: (entries: StreamEntry<D>[]) => void | Promise<void>;
  /**
   * Asked as each batch arrives: false when nobody would receive it (e.g. no request waits on any run), and the batch
   * is passed over without being decoded or validated; the position still moves past it. Default: always wanted.
   */
  wanted?: () => boolean;
  /**
   * After passing over an unwanted batch, wait this long (ms) before the next read, so that what is appended meanwhile
   * is passed over in one read instead of one read per entry; `wake()` ends the wait at once (call it when the
   * entries become wanted). Default 0: read again at once.
   */
  unwantedReadIntervalMs?: number;
  /** Unparseable entries are skipped and reported here. */
  onInvalid?: (entryId: string, error: unknown) => void;
  /** Redis errors (the tailer retries with backoff) and errors thrown by `onEntries` (the batch is not redelivered). */
  onError?: (error: unknown) => void;
}

/**
 * Follows a stream with XREAD so that every instance sees every entry (fan-out), e.g. each ws-gateway replica
 * tailing the global event stream. It resumes from the last id it delivered after Redis errors and restarts,
 * so no entry is skipped or repeated. Durable at-least-once processing belongs to `ConsumerGroupRunner`.
 */
export class StreamTailer<D extends StreamDef> {
  private readonly key: string;
  private cursor: string;
  private stopping = false;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private positioned: Promise<void> = Promise.resolve();
  private pause: AbortController | undefined;

  constructor(private readonly options: StreamTailerOptions<D>) {
    this.key = streamKey(options.stream, options.keyPrefix, options.partition);
    this.cursor = options.from ?? '$';
  }

  /** The id of the last entry delivered (or skipped as invalid); pass it as `from` to resume without gaps. */
  get lastId(): string {
    return this.cursor;
  }

  /**
   * Starts the read loop. Resolves once the start position is pinned (a `'$'` start is resolved to the stream's
   * current last id), so every entry appended after that is delivered; the loop keeps running in the background.
   * Calling it again while running returns the same promise; after `stop()` it resumes from `lastId`.
   */
  start(): Promise<void> {
    if (this.loop) return this.positioned;
    this.stopping = false;
    this.abort = new AbortController();
    reopen(this.options.redis);
    let markPositioned: () => void = () => undefined;
    this.positioned = new Promise((resolve) => (markPositioned = resolve));
    this.loop = this.run(markPositioned).finally(() => {
      markPositioned();
      this.loop = undefined;
    });
    return this.positioned;
  }

  /** Ends a wait between reads (`unwantedReadIntervalMs`) at once: the next read follows without delay. */
  wake(): void {
    this.pause?.abort();
  }

  /** Ends the loop without waiting out a block: closes the dedicated connection, then waits for the loop to exit. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.abort.abort();
    this.wake();
    const loop = this.loop;
    // A cut-off XREAD reply costs nothing here: the cursor only moves after a batch is delivered.
    this.options.redis.disconnect();
    await loop;
    await whenEnded(this.options.redis);
  }

  private async run(markPositioned: () => void): Promise<void> {
    const { redis, stream, blockMs = 1_000, count = 500 } = this.options;
    const backoff = new Backoff();
    while (!this.stopping) {
      try {
        if (this.cursor === '$') this.cursor = await this.currentLastId();
        markPositioned();
        // stop() aborts as it disconnects: a client cut off between reconnect attempts never settles its queued read.
        const reply = await untilAborted(redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, this.cursor), this.abort.signal);
        backoff.reset();
        const raw = entriesOfReadReply(reply);
        if (raw.length === 0) continue;
        if (this.options.wanted?.() === false) {
          this.cursor = raw[raw.length - 1][0];
          await this.waitBeforeNextRead();
          continue;
        }
        const entries: StreamEntry<D>[] = [];
        for (const [id, fields] of raw) {
          const decoded = decodeEntry(stream, fields);
          if (decoded.ok) entries.push({ id, payload: decoded.payload, jsonLength: decoded.jsonLength });
          else this.options.onInvalid?.(id, decoded.error);
        }
        if (entries.length > 0) await this.deliver(entries);
        this.cursor = raw[raw.length - 1][0];
      } catch (error) {
        if (this.stopping) break;
        this.options.onError?.(error);
        await sleep(backoff.next(), this.abort.signal).catch(() => undefined);
      }
    }
  }

  private async deliver(entries: StreamEntry<D>[]): Promise<void> {
    try {
      await this.options.onEntries(entries);
    } catch (error) {
      // Retrying a batch the callback rejects would stall every later entry behind it: report and move on.
      this.options.onError?.(error);
    }
  }

  /** Nobody wanted the last batch: wait `unwantedReadIntervalMs`, or until `wake()` or `stop()`. */
  private async waitBeforeNextRead(): Promise<void> {
    const ms = this.options.unwantedReadIntervalMs ?? 0;
    if (ms <= 0 || this.stopping) return;
    // Set in the same synchronous step as the `wanted()` check before it: a `wake()` after that check ends this wait.
    const pause = (this.pause = new AbortController());
    await sleep(ms, pause.signal).catch(() => undefined);
    if (this.pause === pause) this.pause = undefined;
  }

  /** XREAD with `$` between two calls would miss entries appended in between; pin the position once instead. */
  private async currentLastId(): Promise<string> {
    const [top] = await untilAborted(this.options.redis.xrevrange(this.key, '+', '-', 'COUNT', 1), this.abort.signal);
    return top ? top[0] : '0-0';
  }
}
