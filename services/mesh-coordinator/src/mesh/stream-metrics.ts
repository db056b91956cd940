import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Streams, streamKey } from '@skreaver/contracts';
import { REDIS } from '@skreaver/messaging';
import { gauge } from '@skreaver/observability';
import { withTimeout } from '@skreaver/util';
import type { RedisClient } from '@skreaver/messaging';
import type { Gauge } from 'prom-client';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';

interface GroupCounts {
  group: string;
  pending: number;
  /** Null when Redis cannot tell (entries deleted from the stream); absent before Redis 7. */
  lag: number | null;
}

interface Source {
  groups(): Promise<GroupCounts[]>;
  deadLetters(): Promise<number>;
}

// One gauge per name per process, whatever the number of app instances (integration tests start several).
// prom-client collects gauges concurrently, so each gauge reads what it shows itself.
const sources = new Set<Source>();
const STREAM = Streams.meshMessages.name;

async function setGroups(target: Gauge<'stream' | 'group'>, pick: (counts: GroupCounts) => number | null): Promise<void> {
  for (const source of sources) {
    for (const counts of await source.groups()) {
      const value = pick(counts);
      if (value !== null) target.set({ stream: STREAM, group: counts.group }, value);
    }
  }
}

gauge({
  name: 'skreaver_stream_lag',
  help: 'Entries of a stream not yet delivered to a consumer group (XINFO GROUPS lag), counted when scraped',
  labelNames: ['stream', 'group'],
  async collect() {
    await setGroups(this, (counts) => counts.lag);
  },
});
gauge({
  name: 'skreaver_stream_pending',
  help: 'Entries delivered to a consumer group but not acked yet, counted when scraped',
  labelNames: ['stream', 'group'],
  async collect() {
    await setGroups(this, (counts) => counts.pending);
  },
});
gauge({
  name: 'skreaver_dead_letters',
  help: 'Entries in the dead-letter stream, counted when scraped',
  async collect() {
    for (const source of sources) this.set(await source.deadLetters());
  },
});

// A scrape must answer even when Redis does not.
const READ_TIMEOUT_MS = 1_000;

/** Publishes the consumer groups' lag and pending counts of the mesh stream and the dead-letter count. */
@Injectable()
export class StreamMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly source: Source = {
    groups: async () => {
      const read = this.redis.xinfo('GROUPS', streamKey(Streams.meshMessages, this.keyPrefix)) as Promise<unknown[]>;
      const groups = await withTimeout(read, READ_TIMEOUT_MS, 'XINFO timed out').catch(() => []);
      return groups.map(toRecord).map((info) => ({
        group: String(info['name'] ?? ''),
        pending: Number(info['pending'] ?? 0),
        lag: typeof info['lag'] === 'number' ? info['lag'] : null,
      }));
    },
    deadLetters: () => withTimeout(this.redis.xlen(streamKey(Streams.deadLetters, this.keyPrefix)), READ_TIMEOUT_MS, 'XLEN timed out').catch(() => 0),
  };

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {}

  private get keyPrefix(): string {
    return this.config.REDIS_KEY_PREFIX;
  }

  onModuleInit(): void {
    sources.add(this.source);
  }

  onModuleDestroy(): void {
    sources.delete(this.source);
  }
}

/** XINFO replies are flat [name, value, …] arrays. */
function toRecord(raw: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(raw)) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = raw[i + 1];
  return out;
}
