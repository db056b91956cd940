import { Injectable } from '@nestjs/common';

/** Where a recent event sits in the global stream, and whose it is. */
export interface IndexedEvent {
  entryId: string;
  tenantId: string;
}

// ~200 bytes an entry: 4 MB per replica. At 1,000 events/s that is the last 20 s, which covers reconnects after a
// blip or a replica failure; older positions are found by a scan of the stream (`EventReplay.locate`).
const CAPACITY = 20_000;

/**
 * The global-stream entry ids of the last events this replica tailed, by event id. Every replica tails the same
 * stream, so a client that moves to another replica finds its last event here too.
 */
@Injectable()
export class RecentEventIndex {
  private readonly entries = new Map<string, IndexedEvent>();

  remember(eventId: string, entryId: string, tenantId: string): void {
    // A retried append publishes an event twice; its first position is the one a client resumes from.
    if (this.entries.has(eventId)) return;
    if (this.entries.size >= CAPACITY) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(eventId, { entryId, tenantId });
  }

  get(eventId: string): IndexedEvent | undefined {
    return this.entries.get(eventId);
  }
}
