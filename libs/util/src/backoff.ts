/**
 * The one backoff of the code base (Redis reconnects and stream readers, database waits, in-process run retries,
 * webhook redeliveries). Capped exponential backoff for retry loops: `initialMs` doubling up to `maxMs`, back to `initialMs` after `reset()`.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 2_000,
  ) {}

  /** The delay before the next retry; each call doubles the following one until the cap. */
  next(): number {
    const delay = backoffDelay(this.attempt, this.initialMs, this.maxMs);
    this.attempt += 1;
    return delay;
  }

  /** Call after a success so the next failure waits `initialMs` again. */
  reset(): void {
    this.attempt = 0;
  }
}

/** The delay of the `attempt`-th (0-based) retry: `initialMs * 2^attempt`, capped at `maxMs` (`Infinity`: no cap). */
export function backoffDelay(attempt: number, initialMs = 100, maxMs = 2_000): number {
  // Math.min before the power would still overflow to Infinity for large attempts; clamp the exponent instead.
  return Math.min(initialMs * 2 ** Math.min(attempt, 30), maxMs);
}
