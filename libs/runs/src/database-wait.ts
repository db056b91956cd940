import { JsonLogger } from '@skreaver/observability';
import { isDatabaseUnavailable } from '@skreaver/persistence';
import { backoffDelay, sleep } from '@skreaver/util';

/**
 * Retries a database operation for as long as the database is unavailable (down, restarting, locked), so an outage
 * of any length delays a run's bookkeeping instead of failing the run or spending its attempts. Any other error is
 * thrown at once. One warning when the first caller starts waiting and one line when the last one got through, not
 * a line per retry.
 */
export class DatabaseWait {
  private waiting = 0;
  private since = 0;

  constructor(
    private readonly logger: JsonLogger,
    private readonly initialDelayMs = 100,
    private readonly maxDelayMs = 2_000,
  ) {}

  /** Runs `operation` until it succeeds or fails with an error that is not an outage; `signal` ends the wait. */
  async run<T>(operation: () => Promise<T>, what: string, signal?: AbortSignal): Promise<T> {
    let retries = 0;
    try {
      for (;;) {
        try {
          return await operation();
        } catch (error) {
          if (!isDatabaseUnavailable(error) || signal?.aborted) throw error;
          if (retries === 0) this.enter(what, error);
          const delay = backoffDelay(retries, this.initialDelayMs, this.maxDelayMs);
          retries += 1;
          await sleep(delay, signal).catch(() => {
            throw error;
          });
        }
      }
    } finally {
      if (retries > 0) this.leave();
    }
  }

  private enter(what: string, error: unknown): void {
    this.waiting += 1;
    if (this.waiting > 1) return;
    this.since = Date.now();
    this.logger.write('warn', 'Database unavailable; run bookkeeping waits for it', { operation: what, error: String(error) }, 'runs');
  }

  private leave(): void {
    this.waiting -= 1;
    if (this.waiting > 0) return;
    this.logger.write('info', 'Database answers again; run bookkeeping resumed', { waited_ms: Date.now() - this.since }, 'runs');
  }
}
