import { Injectable } from '@nestjs/common';

import { compareStreamIds } from './stream-ids';
import type { LiveEntry } from './subscription';

// The last entries this replica tailed, kept for the agent subscriptions that resume after a reconnect: when a replica
// dies, thousands of clients resume on the others within seconds, each after a recent event. Read from Redis, each
// replay re-reads and re-parses the same stretch of the global stream and encodes its events once per client; from
// here they cost a scan of this window and share the encodings of the live delivery. Bounded by count and by the
// events' JSON size (the entry and its encodings take about three times that): at 1,000 events/s of ~300 bytes,
// the last 10 s. Older positions are read from Redis as before.
const MAX_ENTRIES = 10_000;
const MAX_JSON_BYTES = 8 * 1024 * 1024;
// The array is compacted once this many evicted slots lead it (and they are most of it).
const COMPACT_AFTER = 1_024;

/** The global-stream entries this replica tailed last, in stream order, with no gap. */
@Injectable()
export class RecentEntries {
  private entries: Array<LiveEntry | undefined> = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  /**
   * Appends the entry the tailer delivered next; `jsonLength` is its event's JSON as read from the stream. Without
   * it the `/ws` frame is made to be measured: with it, an event no `/ws` client receives is never serialised again
   * (what the profile showed on the gateway, per event, for a size).
   */
  append(entry: LiveEntry, jsonLength?: number): void {
    const size = jsonLength ?? entry.frame.wsText.length;
    this.entries.push(entry);
    this.sizes.push(size);
    this.bytes += size;
    while (this.entries.length - this.head > MAX_ENTRIES || (this.bytes > MAX_JSON_BYTES && this.entries.length - this.head > 1)) this.evictOldest();
  }

  /**
   * The entries after `afterEntryId` up to the newest one tailed, when the window still holds that position
   * (its oldest entry is at or before it); undefined when it does not, and the stream must be read instead.
   */
  after(afterEntryId: string): LiveEntry[] | undefined {
    const oldest = this.entries[this.head];
    if (!oldest || compareStreamIds(oldest.id, afterEntryId) > 0) return undefined;
    // Binary search for the first entry past the position.
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareStreamIds(this.entries[middle]?.id ?? '', afterEntryId) <= 0) low = middle + 1;
      else high = middle;
    }
    // Every slot from the head on holds an entry.
    return this.entries.slice(low) as LiveEntry[];
  }

  private evictOldest(): void {
    this.bytes -= this.sizes[this.head] ?? 0;
    this.entries[this.head] = undefined;
    this.head += 1;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}
