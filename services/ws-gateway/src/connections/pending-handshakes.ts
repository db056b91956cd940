/**
 * Counts the handshakes in progress on a replica (connect, credential check, first subscribe) against a cap, so that
 * a reconnect storm queues no more work than the replica finishes before its clients give up: the excess is refused
 * at once (`overloaded`) and retried by the client after a backoff, instead of being processed for a client that has
 * already timed out and reconnected.
 */
export class PendingHandshakes {
  private pending = 0;

  /**
   * @param max handshakes in progress at once
   * @param holdMs after this a handshake stops counting even if unfinished: a client that connects and never
   *   subscribes must not hold the replica's handshake capacity for as long as it stays connected.
   */
  constructor(
    private readonly max: number,
    private readonly holdMs: number,
  ) {}

  /** Handshakes in progress. */
  get size(): number {
    return this.pending;
  }

  /** Starts a handshake: the function that ends it (idempotent), or `undefined` when the replica is at its cap. */
  begin(): (() => void) | undefined {
    if (this.pending >= this.max) return undefined;
    this.pending += 1;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.pending -= 1;
    };
    const timer = setTimeout(end, this.holdMs);
    timer.unref();
    return end;
  }
}
