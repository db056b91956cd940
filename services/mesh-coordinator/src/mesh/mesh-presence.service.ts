import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { MeshStore } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';
import { RunJobsConsumer } from '../consumers/run-jobs.consumer';

/** Heartbeats this coordinator's presence, with its load (runs executing here), every SKREAVER_MESH_HEARTBEAT_MS. */
@Injectable()
export class MeshPresenceService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly store: MeshStore,
    private readonly runJobs: RunJobsConsumer,
    private readonly logger: JsonLogger,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.config.SKREAVER_MESH_HEARTBEAT_MS);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    try {
      await this.store.heartbeatCoordinator(this.config.WORKER_ID, this.runJobs.activeRuns);
      this.failing = false;
    } catch (error) {
      // Once per outage: Redis being down is reported by /ready and the connection's own log.
      if (!this.failing) this.logger.write('warn', 'Presence heartbeat failed', { error: String(error) }, 'mesh');
      this.failing = true;
    }
  }
}
