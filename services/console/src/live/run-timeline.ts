import type { RunEventV1 } from '@skreaver/contracts';

/** Whether `event` ends its run's log (a non-final `run.failed` does not: a retry follows). */
export function endsRun(event: RunEventV1): boolean {
  return event.type === 'run.completed' || event.type === 'run.cancelled' || (event.type === 'run.failed' && event.data.final);
}

/**
 * One run's events as the page shows them: each seq once, in seq order, whichever way it arrived (the log read over
 * REST, a replay after a reconnection, or live from the gateway). Events of other runs are ignored.
 */
export class RunTimeline {
  private readonly bySeq = new Map<number, RunEventV1>();
  private contiguous = 0;
  ended = false;

  constructor(readonly runId: string) {}

  /** Adds `event`; false when it is another run's or already here. */
  add(event: RunEventV1): boolean {
    if (event.run_id !== this.runId || this.bySeq.has(event.seq)) return false;
    this.bySeq.set(event.seq, event);
    while (this.bySeq.has(this.contiguous + 1)) this.contiguous += 1;
    if (endsRun(event)) this.ended = true;
    return true;
  }

  /** The id of the last event with none missing before it (where a read of the log resumes); undefined at the start. */
  get resumeAfter(): string | undefined {
    return this.contiguous > 0 ? this.bySeq.get(this.contiguous)?.id : undefined;
  }

  /** The id of the newest event held. */
  get lastId(): string | undefined {
    return this.events().at(-1)?.id;
  }

  events(): RunEventV1[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }
}
