import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { Queues } from '@skreaver/contracts';
import { RedisConnections, createTypedWorker } from '@skreaver/messaging';
import { PermanentRunError, RunCancellation, RunExecutor } from '@skreaver/runs';
import { JsonLogger } from '@skreaver/observability';
import { DatabaseHealth } from '@skreaver/persistence';
import { sleep } from '@skreaver/util';
import { UnrecoverableError } from 'bullmq';
import type { Worker } from 'bullmq';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';

/** Takes run jobs off the queue and hands each to the execution service; closes gracefully on shutdown. */
@Injectable()
export class RunJobsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker: Worker | undefined;
  private readonly stopping = new AbortController();
  /** Abort controllers of the runs executing here, by run id, so a cancellation request reaches the right one. */
  private readonly inFlight = new Map<string, AbortController>();
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly execution: RunExecutor,
    private readonly cancellation: RunCancellation,
    private readonly connections: RedisConnections,
    private readonly database: DatabaseHealth,
    private readonly logger: JsonLogger,
    @Inject(MESH_COORDINATOR_CONFIG) private readonly config: MeshCoordinatorConfig,
  ) {}

  /** Runs executing in this process: the load a coordinator reports in its presence heartbeat. */
  get activeRuns(): number {
    return this.inFlight.size;
  }

  get running(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  onApplicationBootstrap(): void {
    // Not awaited: the HTTP server must come up (and /ready say why it is not ready) while we wait for the schema.
    void this.start();
  }

  private async start(): Promise<void> {
    // agent-api owns the migrations; taking jobs against an old schema would fail every one of them.
    while (!this.stopping.signal.aborted && (await this.database.hasPendingMigrations().catch(() => true))) {
      await sleep(500, this.stopping.signal).catch(() => undefined);
    }
    if (this.stopping.signal.aborted) return;
    this.stopListening = await this.cancellation.listen(this.connections.blocking('run-cancel'), (request) =>
      this.inFlight.get(request.run_id)?.abort(new Error(request.reason)),
    );
    this.worker = createTypedWorker(
      Queues.runs,
      {
        connection: this.connections.blocking('run-worker'),
        keyPrefix: this.config.REDIS_KEY_PREFIX,
        concurrency: this.config.RUN_WORKER_CONCURRENCY,
        lockDurationMs: this.config.RUN_LOCK_DURATION_MS,
        stalledIntervalMs: this.config.RUN_STALLED_CHECK_MS,
      },
      async (payload, job) => {
        // Shutdown does not abort runs: close() lets them finish; past the shutdown timeout the process exits and
        // BullMQ hands the job, its lock expired, to another coordinator. Only a cancellation aborts a run.
        const run = new AbortController();
        this.inFlight.set(payload.run_id, run);
        try {
          await this.execution.execute(payload, { number: job.attemptsMade + 1, of: job.attempts }, run.signal);
        } catch (error) {
          if (error instanceof PermanentRunError) throw new UnrecoverableError(error.message);
          throw error;
        } finally {
          this.inFlight.delete(payload.run_id);
        }
      },
    );
    this.worker.on('error', (error) => this.logger.write('error', 'Run worker error', { error: error.message }, 'runs'));
    // A job BullMQ gives up on without our processor having ended its run (stalled too often, every worker that
    // held it died) would leave the run "running" forever: end it here. Idempotent for runs already finished.
    this.worker.on('failed', (job, error) => {
      if (!job || job.attemptsMade < (job.opts.attempts ?? 1) && !/stalled more than/i.test(error.message)) return;
      const payload = Queues.runs.schema.safeParse(job.data);
      if (!payload.success) return;
      void this.execution.abandon(payload.data, `the queue gave up on this run: ${error.message}`).catch((cause: unknown) =>
        this.logger.write('error', 'Could not end an abandoned run', { run_id: payload.data.run_id, error: String(cause) }, 'runs'),
      );
    });
    this.logger.write('info', 'Run worker started', { concurrency: this.config.RUN_WORKER_CONCURRENCY }, 'runs');
  }

  /** Stops taking jobs and waits for the active ones, so a deploy finishes runs instead of abandoning them. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort(new Error('coordinator shutting down'));
    await this.worker?.close();
    await this.stopListening?.();
  }
}
