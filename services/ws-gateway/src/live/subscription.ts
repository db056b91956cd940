import type { RunEventV1 } from '@skreaver/contracts';

import type { EventFrame } from './event-frame';
import type { LiveSession } from './live-session';
import type { SubscriptionTarget } from './rooms';
import { compareStreamIds } from './stream-ids';

/** An event as the global stream delivered it: its entry id gives its place in the order of all events. */
export interface LiveEntry {
  id: string;
  event: RunEventV1;
  frame: EventFrame;
}

/** What to do with a live entry offered to a subscription. */
export type Verdict = 'deliver' | 'held' | 'skip' | 'overflow';

// Live events held back while a resumed subscription replays; a client whose replay falls this far behind
// the live stream would never catch up.
const MAX_HELD = 10_000;

/**
 * One target a session listens to. A resumed subscription starts by holding live entries back while the missed
 * ones are replayed, then releases the held ones past what the replay sent: no gap, no duplicate. It keeps a
 * cursor of what it delivered so a late live copy of a replayed event is skipped: for an agent, the position in
 * the global stream (both replay and live read that stream); for a run, the seq (the replay reads the run's log).
 */
export class Subscription {
  private held: LiveEntry[] | null = null;
  private lastEntryId: string | undefined;
  private lastSeq = 0;
  private ended = false;

  constructor(
    readonly session: LiveSession,
    readonly room: string,
    readonly target: SubscriptionTarget,
  ) {}

  get closed(): boolean {
    return this.ended || !this.session.open;
  }

  /** Until `goLive`, live entries are held back (a replay is about to run). */
  holdLive(): void {
    this.held = [];
  }

  /** Ends the subscription; a replay in progress stops. */
  close(): void {
    this.ended = true;
    this.held = null;
  }

  /** Decides the fate of a live entry of this subscription's room. */
  offer(entry: LiveEntry): Verdict {
    if (this.closed) return 'skip';
    if (this.held) {
      if (this.held.length >= MAX_HELD) return 'overflow';
      this.held.push(entry);
      return 'held';
    }
    return this.advance(entry.event, entry.id) ? 'deliver' : 'skip';
  }

  /**
   * Whether an event comes after everything delivered so far, moving the cursor past it. `entryId` is its
   * global-stream entry id; run-log events (replays of a run) have none and are ordered by seq.
   */
  advance(event: RunEventV1, entryId?: string): boolean {
    if (this.target.kind === 'run') {
      if (event.seq <= this.lastSeq) return false;
      this.lastSeq = event.seq;
      return true;
    }
    if (entryId === undefined) return true;
    if (this.lastEntryId !== undefined && compareStreamIds(entryId, this.lastEntryId) <= 0) return false;
    this.lastEntryId = entryId;
    return true;
  }

  /** Starts the cursor after `afterSeq` (run) or after the global-stream entry `afterEntryId` (agent). */
  resumeAfter(position: { afterSeq: number } | { afterEntryId: string }): void {
    if ('afterSeq' in position) this.lastSeq = position.afterSeq;
    else this.lastEntryId = position.afterEntryId;
  }

  /** The live entries held back since the last call. */
  takeHeld(): LiveEntry[] {
    const held = this.held ?? [];
    if (this.held) this.held = [];
    return held;
  }

  /** Stops holding back: live entries are delivered as they come. Call right after `takeHeld()` returned none. */
  goLive(): void {
    this.held = null;
  }
}
