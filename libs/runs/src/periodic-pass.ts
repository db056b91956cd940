import type { JsonLogger } from '@skreaver/observability';
import { sleep, withTimeout } from '@skreaver/util';
import type { RedisClient } from '@skreaver/messaging';

// Stopping waits this long for a pass in progress; passes are idempotent, so the next one redoes any cut short.
const STOP_WAIT_MS = 2_000;

/** What a `PeriodicPass` runs. */
export interface PeriodicPassOptions {
  intervalMs: number;
  pass: () => Promise<unknown>;
  logger: JsonLogger;
  /** The warning logged when a pass fails (Redis or the database down: the next pass tries again). */
  failure: string;
  /** Run the first pass at start instead of one interval later. */
  immediately?: boolean;
}

/**
 * Runs a background pass every `intervalMs` until stopped (the reconciler, direct-mode recovery, the input expiry
 * sweep): a failed pass is logged and the next one tries again; `stop()` waits a bounded time for one in progress.
 */
export class PeriodicPass {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: PeriodicPassOptions) {}

  start(): void {
    this.loop ??= this.repeat();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.loop) await withTimeout(this.loop, STOP_WAIT_MS, `${this.options.failure}: pass still running`).catch(() => undefined);
  }

  private async repeat(): Promise<void> {
    const { signal } = this.stopping;
    const { intervalMs, pass, logger, failure } = this.options;
    let wait = !this.options.immediately;
    while (!signal.aborted) {
      if (wait) await sleep(intervalMs, signal).catch(() => undefined);
      wait = true;
      if (signal.aborted) return;
      await pass().catch((error: unknown) => logger.write('warn', failure, { error: String(error) }, 'runs'));
    }
  }
}

/**
 * Takes this interval's turn at a pass that one process of many should run (`key` expires with the interval, so a
 * dead process's turn passes on); false when another process has it.
 */
export async function takeTurn(redis: RedisClient, key: string, owner: string, intervalMs: number): Promise<boolean> {
  return (await redis.set(key, owner, 'PX', intervalMs, 'NX')) !== null;
}
