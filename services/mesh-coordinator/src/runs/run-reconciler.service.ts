import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { AgentRunSlots, MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { JsonLogger, counter } from '@skreaver/observability';
import { AgentRepository, RunRepository } from '@skreaver/persistence';
import { PeriodicPass, RunDispatcher, RunExecutor, RunQueue, RunReconciler, takeTurn } from '@skreaver/runs';
import type { ReconcileReport } from '@skreaver/runs';
import type { RedisClient } from '@skreaver/messaging';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';

const reconciled = counter({
  name: 'skreaver_runs_reconciled_total',
  help: 'Stranded runs and slots the reconciler repaired, by action (requeued, readmitted, abandoned, released)',
  labelNames: ['action'],
});

/**
 * Runs the `RunReconciler` every RUN_RECONCILE_INTERVAL_MS on one coordinator at a time: each pass is taken by
 * whichever coordinator sets the turn key first, which expires with the interval, so a dead coordinator's turn
 * passes to another at the next interval.
 */
@Injectable()
export class RunReconcilerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly reconciler: RunReconciler;
  private readonly periodic: PeriodicPass;
  private readonly turnKey: string;

  constructor(
    runs: RunRepository,
    agents: AgentRepository,
    queue: RunQueue,
    slots: AgentRunSlots,
    dispatcher: RunDispatcher,
    executor: RunExecutor,
    private readonly logger: JsonLogger,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(MESSAGING_OPTIONS) messaging: MessagingOptions,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {
    this.reconciler = new RunReconciler(runs, agents, queue, slots, dispatcher, executor, logger, {
      maxAttempts: config.RUN_MAX_ATTEMPTS,
      graceMs: config.RUN_RECONCILE_GRACE_MS,
    });
    this.turnKey = `${messaging.keyPrefix}:runs:reconciler-turn`;
    // Redis or the database down: the next pass tries again; nothing is lost by skipping one.
    this.periodic = new PeriodicPass({ intervalMs: config.RUN_RECONCILE_INTERVAL_MS, pass: () => this.pass(), logger, failure: 'Run reconciliation pass failed' });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  /** One pass if it is this coordinator's turn; the report, or null when another coordinator has the turn. */
  async pass(): Promise<ReconcileReport | null> {
    const interval = this.config.RUN_RECONCILE_INTERVAL_MS;
    if (!(await takeTurn(this.redis, this.turnKey, this.config.WORKER_ID, interval))) return null;
    const report = await this.reconciler.reconcile();
    for (const action of ['requeued', 'readmitted', 'abandoned', 'released'] as const) {
      if (report[action] > 0) reconciled.inc({ action }, report[action]);
    }
    return report;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }
}
