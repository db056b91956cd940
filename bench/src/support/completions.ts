/**
 * Matches completions (run.completed on a socket, a job's `completed`) to what started them, whichever arrives first,
 * and records each latency; a waiter gives up after `timeoutMs`.
 */
export class Completions {
  readonly latencies: number[] = [];
  private readonly arrived = new Map<string, number>();
  private readonly waiting = new Map<string, { startedAt: number; resolve: () => void; timer: NodeJS.Timeout | undefined }>();
  timeouts = 0;

  constructor(private readonly timeoutMs = 15_000) {}

  /** Something with `id` completed now. */
  complete(id: string, at = performance.now()): void {
    const waiter = this.waiting.get(id);
    if (!waiter) {
      this.arrived.set(id, at);
      return;
    }
    this.waiting.delete(id);
    clearTimeout(waiter.timer);
    this.latencies.push(at - waiter.startedAt);
    waiter.resolve();
  }

  /** Resolves when `id` (started at `startedAt`, a performance.now() time) has completed, or after the timeout. */
  wait(id: string, startedAt: number): Promise<void> {
    const early = this.arrived.get(id);
    if (early !== undefined) {
      this.arrived.delete(id);
      this.latencies.push(early - startedAt);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.timeouts += 1;
        // Counted at the timeout: a lower bound, so a backlog shows in the percentiles instead of vanishing from them.
        this.latencies.push(this.timeoutMs);
        reject(new Error(`${id} did not complete within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, { startedAt, resolve, timer });
    });
  }

  /** Forgets latencies and early arrivals (after a warm-up). */
  reset(): void {
    this.latencies.length = 0;
    this.arrived.clear();
    this.timeouts = 0;
  }
}
