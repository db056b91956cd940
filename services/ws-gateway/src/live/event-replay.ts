import { Injectable } from '@nestjs/common';
import { Streams, splitEventId } from '@skreaver/contracts';
import type { RunEventV1 } from '@skreaver/contracts';
import { RunEventLog, StreamReader } from '@skreaver/messaging';
import { RunEventArchive } from '@skreaver/persistence';

import { DependencyUnavailableError } from './dependency-unavailable.error';
import { EventFrame } from './event-frame';
import { RecentEntries } from './recent-entries';
import { RecentEventIndex } from './recent-event-index';
import type { LiveEntry } from './subscription';

const PAGE = 500;
// An event's `ts` comes from its producer's clock, its global-stream entry id from Redis's. A position not in the
// recent index is searched from this long before `ts`: clocks of NTP-synced hosts agree far better than that.
const CLOCK_SKEW_MS = 5_000;
const SCAN_PAGE = 1_000;

/** Reads the events a resuming subscription missed: a run's log (or its archive), or the global event stream. */
@Injectable()
export class EventReplay {
  constructor(
    private readonly eventLog: RunEventLog,
    private readonly reader: StreamReader,
    private readonly archive: RunEventArchive,
    private readonly index: RecentEventIndex,
    private readonly recent: RecentEntries,
  ) {}

  /**
   * The global-stream entry id of event `eventId` of `tenantId`: from the recent index, else by scanning the stream
   * from the event's timestamp (minus clock skew) until it shows up. Null when it is not in the stream (any more),
   * or belongs to another tenant.
   * @throws DependencyUnavailableError
   */
  async locate(tenantId: string, eventId: string): Promise<string | null> {
    const known = this.index.get(eventId);
    if (known) return known.tenantId === tenantId ? known.entryId : null;
    const ref = splitEventId(eventId);
    if (!ref) return null;
    const event = await this.findEvent(tenantId, ref.run_id, ref.seq);
    if (!event) return null;
    const fromMs = Date.parse(event.ts) - CLOCK_SKEW_MS;
    let after = fromMs > 0 ? `${fromMs}-0` : undefined;
    for (;;) {
      const page = await redis(() => this.reader.range(Streams.events, { after, count: SCAN_PAGE }));
      const found = page.find((entry) => entry.payload.id === eventId);
      if (found) return found.id;
      const last = page.at(-1);
      if (!last || page.length < SCAN_PAGE) return null;
      after = last.id;
    }
  }

  /**
   * The global stream after entry `afterEntryId`, page by page: from the entries this replica tailed last when they
   * reach back that far (up to the newest tailed: the caller holds live entries back from before this call), else
   * from Redis to the stream's current end.
   * @throws DependencyUnavailableError
   */
  async *globalAfter(afterEntryId: string): AsyncGenerator<LiveEntry[]> {
    const recent = this.recent.after(afterEntryId);
    if (recent) {
      if (recent.length > 0) yield recent;
      return;
    }
    let after = afterEntryId;
    for (;;) {
      const page = await redis(() => this.reader.range(Streams.events, { after, count: PAGE }));
      const last = page.at(-1);
      if (!last) return;
      yield page.map(({ id, payload }) => ({ id, event: payload, frame: new EventFrame(payload) }));
      if (page.length < PAGE) return;
      after = last.id;
    }
  }

  /**
   * A run's events after `afterSeq` that belong to `tenantId`, page by page: from its log in Redis, or from the
   * database archive once the log has expired.
   * @throws DependencyUnavailableError
   */
  async *runAfter(tenantId: string, runId: string, afterSeq: number): AsyncGenerator<RunEventV1[]> {
    const fromArchive = (await redis(() => this.eventLog.last(runId))) === null;
    let after = afterSeq;
    for (;;) {
      const page = fromArchive
        ? await database(() => this.archive.list(tenantId, runId, { afterSeq: after, limit: PAGE }))
        : await redis(() => this.eventLog.read(runId, { afterSeq: after, limit: PAGE }));
      const last = page.at(-1);
      if (!last) return;
      // A run's log is keyed by run id alone; another tenant's run must stay invisible.
      const mine = page.filter((event) => event.tenant_id === tenantId);
      if (mine.length > 0) yield mine;
      if (page.length < PAGE) return;
      after = last.seq;
    }
  }

  private async findEvent(tenantId: string, runId: string, seq: number): Promise<RunEventV1 | null> {
    const [logged] = await redis(() => this.eventLog.read(runId, { afterSeq: seq - 1, limit: 1 }));
    const event =
      logged?.seq === seq ? logged : (await database(() => this.archive.list(tenantId, runId, { afterSeq: seq - 1, limit: 1 })))[0];
    return event?.seq === seq && event.tenant_id === tenantId ? event : null;
  }
}

async function redis<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new DependencyUnavailableError('redis_unavailable', error);
  }
}

async function database<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new DependencyUnavailableError('database_unavailable', error);
  }
}
