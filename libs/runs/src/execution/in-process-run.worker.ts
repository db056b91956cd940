import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { RedisConnections } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';

import { InProcessRunQueue } from '../in-process-run-queue';
import { RunCancellation } from '../run-cancellation';
import { RUN_EXECUTION_CONFIG, RUN_EXECUTION_SHUTDOWN_GRACE_MS } from './run-execution.tokens';
import type { RunExecutionConfig } from './run-execution.config';
import { PermanentRunError, RunExecutor, WorkerStopping } from './run-executor';
import { RunLeases } from './run-leases';

const STOPPED_WHILE_RUNNING = 'the process running it shut down before it finished (direct mode)';

/**
 * Direct mode's run worker: executes the jobs of the in-process run queue here, with the coordinator's executor,
 * concurrency and cancellation, each while holding the run's lease (`RunLeases`: a run another live process holds is
 * left to it). On shutdown it finishes the runs in flight and interrupts those still going after the grace period
 * (they stay open, their journal kept); those and the runs it holds but never started are resumed by the next
 * direct-mode process (`DirectRunRecovery`, in this process after a restart or in another), replaying their journals.
 */
@Injectable()
export class InProcessRunWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Abort controllers of the runs executing here, by run id, so a cancellation request reaches the right one. */
  private readonly inFlight = new Map<string, AbortController>();
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly queue: InProcessRunQueue,
    private readonly executor: RunExecutor,
    private readonly cancellation: RunCancellation,
    private readonly connections: RedisConnections,
    private readonly logger: JsonLogger,
    @Inject(RUN_EXECUTION_CONFIG) private readonly config: Pick<RunExecutionConfig, 'RUN_WORKER_CONCURRENCY'>,
    @Inject(RUN_EXECUTION_SHUTDOWN_GRACE_MS) private readonly shutdownGraceMs: number,
    private readonly leases: RunLeases,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopListening = await this.cancellation.listen(this.connections.blocking('run-cancel'), (request) =>
      this.inFlight.get(request.run_id)?.abort(new Error(request.reason)),
    );
    this.queue.process(
      async (job, attempt) => {
        // Another live process executes it (it was recovered there too): it is not ours to run.
        if (!(await this.leases.claim(job.run_id))) return;
        const run = new AbortController();
        this.inFlight.set(job.run_id, run);
        let retried = false;
        try {
          await this.executor.execute(job, attempt, run.signal);
        } catch (error) {
          retried = !(error instanceof PermanentRunError) && attempt.number < attempt.of;
          throw error;
        } finally {
          this.inFlight.delete(job.run_id);
          // Kept (renewed) while a retry waits here, so no other process takes the run in between.
          if (!retried) await this.leases.release(job.run_id).catch(() => undefined);
        }
      },
      {
        concurrency: this.config.RUN_WORKER_CONCURRENCY,
        retryable: (error) => !(error instanceof PermanentRunError),
        onError: (job, error) => {
          // The executor logged the attempt's failure; this is for what went wrong around it (the database, Redis).
          if (!(error instanceof PermanentRunError)) this.logger.write('warn', 'Run attempt threw', { run_id: job.run_id, error: String(error) }, 'runs');
        },
        // Its last attempt may have thrown before the run was ended (its bookkeeping failed): end it now, as the
        // coordinator does for a job its queue gave up on. Nothing happens to a run that did end.
        onGaveUp: (job, error) =>
          void this.executor.abandon(job, `the run gave up after its last attempt: ${String(error)}`).catch((cause: unknown) =>
            this.logger.write('error', 'Could not end a run given up on', { run_id: job.run_id, error: String(cause) }, 'runs'),
          ),
      },
    );
    this.logger.write('info', 'In-process run worker started (direct mode)', { concurrency: this.config.RUN_WORKER_CONCURRENCY }, 'runs');
  }

  async beforeApplicationShutdown(): Promise<void> {
    const grace = setTimeout(() => {
      for (const run of this.inFlight.values()) run.abort(new WorkerStopping(STOPPED_WHILE_RUNNING));
    }, this.shutdownGraceMs);
    try {
      // Runs it holds but never started stay open (queued, their slot kept): the next direct-mode process resumes them.
      const handedBack = await this.queue.close();
      if (handedBack.length > 0) {
        this.logger.write('info', 'Runs left for the next direct-mode process', { runs: handedBack.map((job) => job.run_id) }, 'runs');
      }
    } finally {
      clearTimeout(grace);
      this.leases.stopRenewing();
      await this.stopListening?.();
    }
  }
}
