import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { Streams } from '@skreaver/contracts';
import type { RunEventV1 } from '@skreaver/contracts';
import { RedisConnections, StreamTailer } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';

import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';

export type RunEventListener = (event: RunEventV1) => void;

// While no request waits on a run, the tail reads the global stream in batches this far apart instead of once per
// entry: each read is a command write and a blocked-client wake-up in Redis, per run event (3+ per run). A request
// that starts waiting wakes it at once, so no waiter sees this delay.
const UNWANTED_READ_INTERVAL_MS = 100;

/**
 * One tail of the global event stream per agent-api process, fanned out in memory to the requests that wait on a
 * run (`?wait=`, observe, SSE, cancel): a blocking Redis connection per waiting request would not scale.
 */
@Injectable()
export class RunEventsHub implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly listeners = new Map<string, Set<RunEventListener>>();
  private tailer: StreamTailer<typeof Streams.events> | undefined;

  constructor(
    private readonly connections: RedisConnections,
    private readonly logger: JsonLogger,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.tailer = new StreamTailer({
      redis: this.connections.blocking('run-events-hub'),
      keyPrefix: this.config.REDIS_KEY_PREFIX,
      stream: Streams.events,
      // Most of the time no request waits on any run: the entries are then not decoded and validated at all, and
      // read at most every UNWANTED_READ_INTERVAL_MS (a new listener wakes the tailer at once).
      wanted: () => this.listeners.size > 0,
      unwantedReadIntervalMs: UNWANTED_READ_INTERVAL_MS,
      onEntries: (entries) => {
        for (const { payload } of entries) this.listeners.get(payload.run_id)?.forEach((listener) => listener(payload));
      },
      onError: (error) => this.logger.write('warn', 'Event stream read failed; retrying', { error: String(error) }, 'runs'),
    });
    void this.tailer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.tailer?.stop();
  }

  /** Calls `listener` with each event of `runId` appended from now on; returns the unsubscribe function. */
  subscribe(runId: string, listener: RunEventListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) {
      set = new Set();
      this.listeners.set(runId, set);
    }
    set.add(listener);
    // The tail may be pausing between unwanted reads: these events are wanted now.
    this.tailer?.wake();
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }
}
