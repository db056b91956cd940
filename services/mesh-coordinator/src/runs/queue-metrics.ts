import { Injectable } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { QueueCounts } from '@skreaver/messaging';
import { gauge } from '@skreaver/observability';
import { RunQueue } from '@skreaver/runs';
import { withTimeout } from '@skreaver/util';
import type { Gauge } from 'prom-client';

type DepthSource = (depth: Gauge<'queue' | 'state'>) => Promise<void>;

// prom-client keeps one gauge per name for the process, bound to the collect function it was created with; the
// queues it reads are whichever app instances are alive (several in integration tests), so they register here.
const sources = new Set<DepthSource>();

gauge({
  name: 'skreaver_queue_depth',
  help: 'Jobs in the run queue by state, counted when scraped',
  labelNames: ['queue', 'state'],
  async collect() {
    for (const source of sources) await source(this);
  },
});

// A scrape must answer even when Redis does not.
const COUNT_TIMEOUT_MS = 1_000;

/** Publishes the run queue's job counts as `skreaver_queue_depth{queue,state}` on every scrape. */
@Injectable()
export class QueueMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly source: DepthSource = async (target) => {
    const counts: QueueCounts | undefined = await withTimeout(this.queue.counts(), COUNT_TIMEOUT_MS, 'queue counts timed out').catch(() => undefined);
    if (!counts) return;
    for (const [state, count] of Object.entries(counts)) target.set({ queue: this.queue.name, state }, count);
  };

  constructor(private readonly queue: RunQueue) {}

  onModuleInit(): void {
    sources.add(this.source);
  }

  onModuleDestroy(): void {
    sources.delete(this.source);
  }
}
