import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { Queues } from '@skreaver/contracts';
import type { RunJobV1 } from '@skreaver/contracts';
import { RedisConnections, StreamQueueWorker, createTypedWorker } from '@skreaver/messaging';
import type { TypedJobMeta } from '@skreaver/messaging';
import { PermanentRunError, RunCancellation, RunExecutor, runJobRetention } from '@skreaver/runs';
import { JsonLogger } from '@skreaver/observability';
import { DatabaseHealth } from '@skreaver/persistence';
import { sleep } from '@skreaver/util';
import { UnrecoverableError } from 'bullmq';

import { MESH_COORDINATOR_CONFIG } from '../config';
import type { MeshCoordinatorConfig } from '../config';

/** What the consumer needs of either queue's worker. */
interface RunWorker {
  isRunning(): boolean;
  close(): Promise<void>;
}

/**
 * Takes run jobs off the run queue (`RUN_QUEUE`: the stream queue, or BullMQ) and hands each to the execution
 * service; closes gracefully on shutdown.
 */
@Injectable()
export class RunJobsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker: RunWorker | undefined;
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
    this.worker = this.config.RUN_QUEUE === 'bullmq' ? this.startBullWorker() : this.startStreamWorker();
    this.logger.write('info', 'Run worker started', { concurrency: this.config.RUN_WORKER_CONCURRENCY, queue: this.config.RUN_QUEUE }, 'runs');
  }

  /** Executes one job's run. Shutdown does not abort runs: closing the worker lets them finish; only a cancellation does. */
  private async process(payload: RunJobV1, job: TypedJobMeta): Promise<void> {
    const run = new AbortController();
    this.inFlight.set(payload.run_id, run);
    try {
      await this.execution.execute(payload, { number: job.attemptsMade + 1, of: job.attempts }, run.signal);
    } finally {
      this.inFlight.delete(payload.run_id);
    }
  }

  /**
   * A job the queue gives up on without our processor having ended its run (stalled too often: every worker that held
   * it died; or out of attempts) would leave the run "running" forever: end it here. Idempotent for runs already finished.
   */
  private abandon(payload: RunJobV1, reason: string): void {
    void this.execution.abandon(payload, `the queue gave up on this run: ${reason}`).catch((cause: unknown) =>
      this.logger.write('error', 'Could not end an abandoned run', { run_id: payload.run_id, error: String(cause) }, 'runs'),
    );
  }

  private logWorkerError(error: unknown): void {
    this.logger.write('error', 'Run worker error', { error: error instanceof Error ? error.message : String(error) }, 'runs');
  }

  private startStreamWorker(): RunWorker {
    const worker = new StreamQueueWorker(
      Queues.runs,
      {
        blockingConnection: this.connections.blocking('run-worker'),
        connection: this.connections.shared,
        keyPrefix: this.config.REDIS_KEY_PREFIX,
        concurrency: this.config.RUN_WORKER_CONCURRENCY,
        lockDurationMs: this.config.RUN_LOCK_DURATION_MS,
        stalledIntervalMs: this.config.RUN_STALLED_CHECK_MS,
        retention: runJobRetention(this.config),
        retryable: (error) => !(error instanceof PermanentRunError),
        onGaveUp: (payload, error, reason) => {
          if (reason !== 'attempts' && reason !== 'stalled') return;
          const job = Queues.runs.schema.safeParse(payload);
          if (job.success) this.abandon(job.data, error.message);
        },
        onError: (error) => this.logWorkerError(error),
      },
      (payload, job) => this.process(payload, job),
    );
    worker.start();
    return worker;
  }

  private startBullWorker(): RunWorker {
    const worker = createTypedWorker(
      Queues.runs,
      {
        connection: this.connections.blocking('run-worker'),
        keyPrefix: this.config.REDIS_KEY_PREFIX,
        concurrency: this.config.RUN_WORKER_CONCURRENCY,
        lockDurationMs: this.config.RUN_LOCK_DURATION_MS,
        stalledIntervalMs: this.config.RUN_STALLED_CHECK_MS,
      },
      async (payload, job) => {
        try {
          await this.process(payload, job);
        } catch (error) {
          if (error instanceof PermanentRunError) throw new UnrecoverableError(error.message);
          throw error;
        }
      },
    );
    worker.on('error', (error) => this.logWorkerError(error));
    worker.on('failed', (job, error) => {
      if (!job || job.attemptsMade < (job.opts.attempts ?? 1) && !/stalled more than/i.test(error.message)) return;
      const payload = Queues.runs.schema.safeParse(job.data);
      if (payload.success) this.abandon(payload.data, error.message);
    });
    return worker;
  }

  /** Stops taking jobs and waits for the active ones, so a deploy finishes runs instead of abandoning them. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort(new Error('coordinator shutting down'));
    await this.worker?.close();
    await this.stopListening?.();
  }
}
