import { Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JsonLogger } from '@skreaver/observability';
import { AgentMemoryRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

const SWEEP_INTERVAL_MS = 60_000;
// Each batch is its own short DELETE, so a large backlog never holds SQLite's write lock (or many PostgreSQL row
// locks) for long; the cap bounds one tick's work, and whatever is left waits for the next tick.
const SWEEP_BATCH_SIZE = 1_000;
const SWEEP_MAX_BATCHES = 50;

/**
 * Purges expired memory entries every minute. Reads already hide them and purge the ones they meet; the sweep
 * removes those nobody reads again. Every replica sweeps: the deletes are idempotent, so overlap costs nothing.
 */
@Injectable()
export class MemorySweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<number> | undefined;

  constructor(
    private readonly memory: AgentMemoryRepository,
    private readonly logger: JsonLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    // Housekeeping must never be what keeps the process alive.
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // The data source closes at application shutdown, after this: let a sweep in flight finish first.
    await this.inFlight;
  }

  /** Deletes what has expired by now, in bounded batches; joins a sweep already running. Never throws. @returns how many it deleted. */
  sweep(): Promise<number> {
    this.inFlight ??= this.purge().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async purge(): Promise<number> {
    const now = nowIso();
    let deleted = 0;
    try {
      for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch += 1) {
        const count = await this.memory.purgeExpired(now, SWEEP_BATCH_SIZE);
        deleted += count;
        if (count < SWEEP_BATCH_SIZE) break;
      }
    } catch (error) {
      // The database may be down; the next tick retries, and reads keep hiding expired entries meanwhile.
      this.logger.write('warn', 'Memory sweep failed', { error: String(error), deleted }, 'memory');
      return deleted;
    }
    if (deleted > 0) this.logger.write('debug', 'Expired memory purged', { deleted }, 'memory');
    return deleted;
  }
}
