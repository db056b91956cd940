import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { AgentRunSlots, MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { JsonLogger, counter } from '@skreaver/observability';
import { AgentRepository, RunRepository } from '@skreaver/persistence';
import { RunDispatcher, RunExecutor, RunQueue, RunReconciler } from '@skreaver/runs';
import type { ReconcileReport } from '@skreaver/runs';
import { sleep, withTimeout } from '@skreaver/util';
import type Redis from 'ioredis';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';

const reconciled = counter({
  name: 'skreaver_runs_reconciled_total',
  help: 'Stranded runs and slots the reconciler repaired, by action (requeued, readmitted, abandoned, released)',
  labelNames: ['action'],
});

// Shutdown waits this long for a pass in progress; its actions are idempotent, so the next pass redoes any cut short.
const SHUTDOWN_WAIT_MS = 2_000;

/**
 * Runs the `RunReconciler` every RUN_RECONCILE_INTERVAL_MS on one coordinator at a time: each pass is taken by
 * whichever coordinator sets the turn key first, which expires with the interval, so a dead coordinator's turn
 * passes to another at the next interval.
 */
@Injectable()
export class RunReconcilerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly reconciler: RunReconciler;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly turnKey: string;

  constructor(
    runs: RunRepository,
    agents: AgentRepository,
    queue: RunQueue,
    slots: AgentRunSlots,
    dispatcher: RunDispatcher,
    executor: RunExecutor,
    private readonly logger: JsonLogger,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(MESSAGING_OPTIONS) messaging: MessagingOptions,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {
    this.reconciler = new RunReconciler(runs, agents, queue, slots, dispatcher, executor, logger, {
      maxAttempts: config.RUN_MAX_ATTEMPTS,
      graceMs: config.RUN_RECONCILE_GRACE_MS,
    });
    this.turnKey = `${messaging.keyPrefix}:runs:reconciler-turn`;
  }

  onApplicationBootstrap(): void {
    this.loop = this.repeat();
  }

  /** One pass if it is this coordinator's turn; the report, or null when another coordinator has the turn. */
  async pass(): Promise<ReconcileReport | null> {
    const interval = this.config.RUN_RECONCILE_INTERVAL_MS;
    if ((await this.redis.set(this.turnKey, this.config.WORKER_ID, 'PX', interval, 'NX')) === null) return null;
    const report = await this.reconciler.reconcile();
    for (const action of ['requeued', 'readmitted', 'abandoned', 'released'] as const) {
      if (report[action] > 0) reconciled.inc({ action }, report[action]);
    }
    return report;
  }

  private async repeat(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      await sleep(this.config.RUN_RECONCILE_INTERVAL_MS, signal).catch(() => undefined);
      if (signal.aborted) return;
      // Redis or the database down: the next pass tries again; nothing is lost by skipping one.
      await this.pass().catch((error: unknown) =>
        this.logger.write('warn', 'Run reconciliation pass failed', { error: String(error) }, 'runs'),
      );
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    if (this.loop) await withTimeout(this.loop, SHUTDOWN_WAIT_MS, 'reconciler pass still running').catch(() => undefined);
  }
}
