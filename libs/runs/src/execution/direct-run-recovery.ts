import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { JobStanding } from '@skreaver/messaging';
import { AgentRunSlots } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { AgentRepository, RunRepository } from '@skreaver/persistence';

import { InProcessRunQueue } from '../in-process-run-queue';
import { PeriodicPass } from '../periodic-pass';
import { RunDispatcher } from '../run-dispatcher';
import { RUN_LIFECYCLE_OPTIONS } from '../run-lifecycle.module';
import type { RunLifecycleOptions } from '../run-lifecycle.module';
import { RunReconciler } from '../run-reconciler';
import type { ReconcileReport } from '../run-reconciler';
import { RunExecutor } from './run-executor';
import { RunLeases } from './run-leases';

/**
 * Direct mode's recovery: every `RUN_DIRECT_LEASE_MS` (and once at boot) it finds open runs (queued, running) that no
 * live direct-mode process holds (their process died: their lease expired; or they were handed back at shutdown) and
 * puts them on this process's run queue, with the `RunReconciler` the coordinators use; the attempt that runs them
 * replays their journals, so no step is executed twice. A run is executed only by the process holding its lease
 * (`RunLeases`, taken when its attempt starts), so any number of direct-mode processes may share a database.
 */
@Injectable()
export class DirectRunRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly reconciler: RunReconciler;
  private readonly periodic: PeriodicPass;

  constructor(
    runs: RunRepository,
    agents: AgentRepository,
    private readonly queue: InProcessRunQueue,
    slots: AgentRunSlots,
    dispatcher: RunDispatcher,
    executor: RunExecutor,
    private readonly leases: RunLeases,
    private readonly logger: JsonLogger,
    @Inject(RUN_LIFECYCLE_OPTIONS) options: Pick<RunLifecycleOptions, 'maxAttempts'>,
  ) {
    const localQueue = {
      // Held here, or by a live process (its lease): not stranded. Otherwise it has no job anywhere.
      standing: async (runId: string): Promise<JobStanding> => (this.queue.holds(runId) || (await this.leases.isHeld(runId)) ? 'active' : 'missing'),
      requeue: async (runId: string, job: Parameters<InProcessRunQueue['add']>[0], added: { attempts?: number }) => {
        await this.queue.add(job, { jobId: runId, attempts: added.attempts ?? options.maxAttempts });
        return true;
      },
    };
    // A run is found once its lease has expired, so it needs no grace period of its own beyond the lease: a run being
    // admitted right now is the only one that holds no lease yet, and its start is guarded by the lease claim.
    this.reconciler = new RunReconciler(runs, agents, localQueue, slots, dispatcher, executor, logger, {
      maxAttempts: options.maxAttempts,
      graceMs: leases.leaseMs,
    });
    // Once at boot, then every lease period; Redis or the database down: the next pass tries again.
    this.periodic = new PeriodicPass({ intervalMs: leases.leaseMs, pass: () => this.pass(), logger, failure: 'Direct-mode run recovery pass failed', immediately: true });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  /** One pass: what it put back on its way. */
  pass(): Promise<ReconcileReport> {
    return this.reconciler.reconcile();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }
}
