import { type RunEventV1, Streams } from '@skreaver/contracts';

import { PAYLOAD_FIELD, decodeEntry } from './stream-entry';
import type { EncodedEntry, FannedOutEntry, StreamProducer } from './stream-producer';
import type { StreamReader } from './stream-reader';

/** Options of `RunEventLog.read`. */
export interface RunEventReadOptions {
  /** Only events with a greater seq; default 0 (from the first event). */
  afterSeq?: number;
  /** Maximum number of events; at least 1. */
  limit: number;
}

/** The entry id of a run's `seq`-th event in its own stream: deterministic, so re-appending is detected. */
export function runEventEntryId(seq: number): string {
  return `0-${seq}`;
}

/** Options of one `RunEventLog.append`. */
export interface RunEventAppendOptions {
  /**
   * The event was made by our own code from values already checked (a run's status changes, its agent's output as
   * the runner checked it): serialised without parsing it against `RunEventV1` again. Every reader still parses it.
   */
  own?: boolean;
  /**
   * The run's log expires this many seconds after the append (the run is finished and archived): the TTL goes in the
   * same round trip as the event instead of a separate `expire`.
   */
  ttlSeconds?: number;
}

/** Options of a `RunEventLog`. */
export interface RunEventLogOptions {
  /**
   * Approximate length the global event stream is trimmed to on every append (`MAXLEN ~`; an operator setting,
   * `SKREAVER_EVENTS_STREAM_MAXLEN`); default the stream's own `maxLen`.
   */
  globalMaxLen?: number;
}

/**
 * A run's event log: each event goes to the run's own stream (`Streams.runEvents`, entry id `0-<seq>`) and to the
 * global stream every ws-gateway replica tails (`Streams.events`).
 */
export class RunEventLog {
  private readonly global: { maxLen?: number };

  constructor(
    private readonly producer: StreamProducer,
    private readonly reader: StreamReader,
    options: RunEventLogOptions = {},
  ) {
    this.global = options.globalMaxLen === undefined ? {} : { maxLen: options.globalMaxLen };
  }

  /**
   * Appends `event` to its run's log, then to the global event stream. Idempotent per seq: re-appending the same
   * event (a retry after an error) resolves false, and still publishes to the global stream in case the first
   * attempt failed in between (live viewers may then see it twice and dedupe by `id`); a different event with a
   * seq already taken is not published anywhere.
   * With `ttlSeconds`, the run's log expires that long after the call, whichever way it went.
   * @returns true when the event was new in the run's log.
   * @throws ContractViolationError when the event does not match `RunEventV1` (not checked for an `own` event).
   */
  async append(event: RunEventV1, options: RunEventAppendOptions = {}): Promise<boolean> {
    // Checked (unless our own) and serialised once: the run's stream and the global one carry the same schema.
    const entry = options.own ? this.producer.encodeOwn(Streams.runEvents, event) : this.producer.encode(Streams.runEvents, event);
    // Both XADDs in one round trip where the server allows it (appendFannedOut), the global one only for a new entry.
    const result = await this.producer.appendFannedOut(Streams.runEvents, Streams.events, entry, {
      partition: event.run_id,
      id: runEventEntryId(event.seq),
      fanOutMaxLen: this.global.maxLen,
      ttlSeconds: options.ttlSeconds,
    });
    if (result.appended) return true;
    // The id was taken (a retry): the script set no TTL.
    if (options.ttlSeconds !== undefined) await this.expire(event.run_id, options.ttlSeconds);
    if (result.stored === null || !sameEvent(result.stored, entry)) return false;
    await this.producer.append(Streams.events, entry, this.global);
    return false;
  }

  /**
   * The first event of a run created just now, as its log and the global stream take it, for a script that appends
   * it as its first step (`AgentRunSlots.admitNew`: logged, then admitted, in one command). Only for a new run: its
   * log is empty, so the explicit entry id cannot collide (the script fails if it does).
   * @throws ContractViolationError when the event does not match `RunEventV1` (not checked for an `own` event, as in
   * `append`).
   */
  firstEntry(event: RunEventV1, options: Pick<RunEventAppendOptions, 'own'> = {}): FannedOutEntry {
    const entry = options.own ? this.producer.encodeOwn(Streams.runEvents, event) : this.producer.encode(Streams.runEvents, event);
    return this.producer.fannedOutEntry(Streams.runEvents, Streams.events, entry, {
      partition: event.run_id,
      id: runEventEntryId(event.seq),
      fanOutMaxLen: this.global.maxLen,
    });
  }

  /**
   * Appends the first event of each of runs created just now, whose logs cannot hold anything yet (their ids are
   * new): every run's stream and the global stream are written at once, runs' streams first, instead of one after
   * the other per event (what makes `append` publish only what its run's log took).
   * @throws Error when a run's log already had the event's seq (the caller broke the rule above).
   * @throws ContractViolationError when an event does not match `RunEventV1` (nothing is written).
   */
  async appendNew(events: readonly RunEventV1[]): Promise<void> {
    if (events.length === 0) return;
    const entries = events.map((event) => ({ event, entry: this.producer.encode(Streams.runEvents, event) }));
    const results = await this.producer.appendMany([
      ...entries.map(({ event, entry }) => ({ stream: Streams.runEvents, entry, options: { partition: event.run_id, id: runEventEntryId(event.seq) } })),
      ...entries.map(({ entry }) => ({ stream: Streams.events, entry, options: this.global })),
    ]);
    const taken = entries.find((_, i) => results[i] === null);
    if (taken) throw new Error(`run ${taken.event.run_id} already had event ${taken.event.seq} in its log`);
  }

  /** Up to `limit` events of the run in seq order, after `afterSeq`. */
  async read(runId: string, options: RunEventReadOptions): Promise<RunEventV1[]> {
    const after = options.afterSeq ? runEventEntryId(options.afterSeq) : undefined;
    const entries = await this.reader.range(Streams.runEvents, { partition: runId, after, count: options.limit });
    return entries.map((entry) => entry.payload);
  }

  /** The run's latest event, or null when it has none (or its log has expired). */
  async last(runId: string): Promise<RunEventV1 | null> {
    const entry = await this.reader.last(Streams.runEvents, { partition: runId });
    return entry?.payload ?? null;
  }

  /** Lets a finished run's log leave Redis `seconds` from now; the database archive serves it from then on. */
  async expire(runId: string, seconds: number): Promise<void> {
    await this.producer.expire(Streams.runEvents, { partition: runId }, seconds);
  }
}

/** Whether `stored` (the JSON at an event's entry id in its run's log) is the very event `entry` holds, not another. */
function sameEvent(stored: string, entry: EncodedEntry): boolean {
  if (stored === entry.json) return true;
  // Written by another serialiser (an older version, or an `own` event with its keys in another order): equal events
  // are equal once both went through the schema.
  const decoded = decodeEntry(Streams.runEvents, [PAYLOAD_FIELD, stored]);
  const ours = decodeEntry(Streams.runEvents, [PAYLOAD_FIELD, entry.json]);
  return decoded.ok && ours.ok && JSON.stringify(decoded.payload) === JSON.stringify(ours.payload);
}
