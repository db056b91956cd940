import { type StreamDef, streamKey } from '@skreaver/contracts';
import type { RedisClient } from './redis-connection';

import { decodeEntry, type StreamEntry } from './stream-entry';

/** Called for an entry whose payload cannot be parsed; the entry is skipped. */
export type InvalidEntryHandler = (entryId: string, error: unknown) => void;

/** Options of a `StreamReader`. */
export interface StreamReaderOptions {
  onInvalid?: InvalidEntryHandler;
}

/** Options of `StreamReader.range`. */
export interface StreamRangeOptions {
  partition?: string;
  /** Exclusive lower bound: only entries after this id. Default: from the beginning. */
  after?: string;
  /** Maximum number of (valid) entries to return; at least 1. */
  count: number;
}

// Reading backwards for `last()` in small pages: normally the top entry is valid and one page is enough.
const LAST_PAGE = 10;

/** Reads parsed entries from Redis streams without consuming them (XRANGE / XREVRANGE). */
export class StreamReader {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly options: StreamReaderOptions = {},
  ) {}

  /**
   * Up to `count` entries in id order, after `after` (exclusive). Unparseable entries are skipped (and reported
   * to `onInvalid`) but do not reduce the page: the read continues until `count` valid entries or the end.
   * @see https://redis.io/docs/latest/commands/xrange/
   */
  async range<D extends StreamDef>(stream: D, options: StreamRangeOptions): Promise<StreamEntry<D>[]> {
    if (!Number.isInteger(options.count) || options.count < 1) throw new Error(`count must be a positive integer`);
    const key = streamKey(stream, this.keyPrefix, options.partition);
    const result: StreamEntry<D>[] = [];
    let start = options.after === undefined ? '-' : `(${options.after}`;
    for (;;) {
      const wanted = options.count - result.length;
      const raw = await this.redis.xrange(key, start, '+', 'COUNT', wanted);
      for (const [id, fields] of raw) {
        const decoded = decodeEntry(stream, fields);
        if (decoded.ok) result.push({ id, payload: decoded.payload });
        else this.options.onInvalid?.(id, decoded.error);
      }
      if (raw.length < wanted || result.length >= options.count) return result;
      start = `(${raw[raw.length - 1][0]}`;
    }
  }

  /** The newest valid entry of the stream, or null when it has none. */
  async last<D extends StreamDef>(stream: D, options: { partition?: string } = {}): Promise<StreamEntry<D> | null> {
    const key = streamKey(stream, this.keyPrefix, options.partition);
    let end = '+';
    for (;;) {
      const raw = await this.redis.xrevrange(key, end, '-', 'COUNT', LAST_PAGE);
      for (const [id, fields] of raw) {
        const decoded = decodeEntry(stream, fields);
        if (decoded.ok) return { id, payload: decoded.payload };
        this.options.onInvalid?.(id, decoded.error);
      }
      if (raw.length < LAST_PAGE) return null;
      end = `(${raw[raw.length - 1][0]}`;
    }
  }
}
