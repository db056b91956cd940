import type { RunActivity } from '@skreaver/contracts';

import type { ActivitySink } from './tools/run-toolbox';

/** How text deltas are coalesced into `message.delta` events. */
export interface DeltaCoalescing {
  /** Flush once this many characters wait. Default 64. */
  maxChars: number;
  /** Flush this long after the first waiting character at the latest. Default 50 ms. */
  maxDelayMs: number;
  /** Longest text of one event; more is split over several. Default 4096. */
  maxEventChars: number;
}

export const DEFAULT_DELTA_COALESCING: DeltaCoalescing = { maxChars: 64, maxDelayMs: 50, maxEventChars: 4_096 };

/**
 * An attempt's activity on its way to the run's log: written one after another in the order they were sent, with
 * text deltas coalesced into `message.delta` events (flushed after `maxDelayMs`, once `maxChars` wait, and before
 * any other activity, so a delta never lands after the step that follows it). Delta indexes are consecutive from
 * `firstIndex`. A write that fails in a timed flush fails the next call instead.
 */
export class ActivityStream {
  private tail: Promise<unknown> = Promise.resolve();
  private text = '';
  private textStep: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;
  private nextIndex: number;
  private stopped = false;

  constructor(
    private readonly sink: ActivitySink,
    private readonly attempt: number,
    firstIndex = 0,
    private readonly coalescing: DeltaCoalescing = DEFAULT_DELTA_COALESCING,
  ) {
    this.nextIndex = firstIndex;
  }

  /** Writes `activity` after any waiting text; resolves once it is written. */
  send(activity: RunActivity): Promise<void> {
    this.rethrow();
    this.flushText();
    return this.write(activity);
  }

  /** Adds text of `step` (a change of step flushes first); resolves at once unless the text had to be flushed. */
  async delta(text: string, step?: number): Promise<void> {
    this.rethrow();
    if (text === '' || this.stopped) return;
    if (this.text !== '' && step !== this.textStep) this.flushText();
    this.text += text;
    this.textStep = step;
    if (this.text.length >= this.coalescing.maxChars) return this.flush();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, this.coalescing.maxDelayMs);
  }

  /** Writes the waiting text; resolves once everything sent so far is written. */
  async flush(): Promise<void> {
    this.flushText();
    await this.tail;
    this.rethrow();
  }

  /** Drops any waiting text and stops the timer (the attempt is over). */
  stop(): void {
    this.stopped = true;
    this.text = '';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** How many `message.delta` events were written or queued. */
  get nextDeltaIndex(): number {
    return this.nextIndex;
  }

  private flushText(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.text === '') return;
    const step = this.textStep;
    for (const piece of pieces(this.text, this.coalescing.maxEventChars)) {
      const data = { attempt: this.attempt, ...(step === undefined ? {} : { step }), index: this.nextIndex++, text: piece };
      this.write({ type: 'message.delta', data }).catch((error: unknown) => {
        this.failure ??= error;
      });
    }
    this.text = '';
  }

  private write(activity: RunActivity): Promise<void> {
    const written = this.tail.then(() => this.sink(activity));
    this.tail = written.catch(() => undefined);
    return written;
  }

  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** `text` in pieces of at most `size` UTF-16 units, never splitting a surrogate pair. */
function pieces(text: string, size: number): string[] {
  if (text.length <= size) return [text];
  const result: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - start > 1 && last >= 0xd800 && last <= 0xdbff) end -= 1;
    result.push(text.slice(start, end));
    start = end;
  }
  return result;
}
