import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { Streams } from '@skreaver/contracts';
import { MESSAGING_OPTIONS, REDIS, StreamProducer } from '@skreaver/messaging';
import type { MessagingOptions, RedisClient } from '@skreaver/messaging';
import { JsonLogger, counter, histogram } from '@skreaver/observability';
import { AuditRepository, RunRepository } from '@skreaver/persistence';

import { PeriodicPass, takeTurn } from '../periodic-pass';
import { RETENTION_KINDS, RetentionSweeper } from '../retention-sweeper';
import type { RetentionReport } from '../retention-sweeper';
import { RUN_EXECUTION_CONFIG } from './run-execution.tokens';
import type { RunExecutionConfig } from './run-execution.config';

const deletedTotal = counter({
  name: 'skreaver_retention_deleted_total',
  help: 'Items deleted because they outlived their retention, by kind (runs: finished runs with their archived events and steps; audit: audit log entries; dead_letters: mesh dead letters)',
  labelNames: ['kind'],
});

const sweepDuration = histogram({
  name: 'skreaver_retention_sweep_duration_seconds',
  help: 'Duration of one retention sweep (the process whose turn it was)',
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30],
});

/** The retention settings a `RetentionService` reads. */
export type RetentionConfig = Pick<
  RunExecutionConfig,
  | 'WORKER_ID'
  | 'SKREAVER_RETENTION_RUNS_DAYS'
  | 'SKREAVER_RETENTION_AUDIT_DAYS'
  | 'SKREAVER_RETENTION_DEAD_LETTERS_DAYS'
  | 'SKREAVER_RETENTION_SWEEP_INTERVAL_MS'
  | 'SKREAVER_RETENTION_BATCH_SIZE'
>;

/**
 * Runs the `RetentionSweeper` every SKREAVER_RETENTION_SWEEP_INTERVAL_MS in the processes that execute runs
 * (coordinators; agent-api in direct mode), one process per interval (`takeTurn`), and counts what it deleted.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly sweeper: RetentionSweeper;
  private readonly periodic: PeriodicPass;
  private readonly turnKey: string;

  constructor(
    runs: RunRepository,
    audit: AuditRepository,
    producer: StreamProducer,
    logger: JsonLogger,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(MESSAGING_OPTIONS) messaging: MessagingOptions,
    @Inject(RUN_EXECUTION_CONFIG) private readonly config: RetentionConfig,
  ) {
    const interval = config.SKREAVER_RETENTION_SWEEP_INTERVAL_MS;
    this.sweeper = new RetentionSweeper(
      {
        runsDays: config.SKREAVER_RETENTION_RUNS_DAYS,
        auditDays: config.SKREAVER_RETENTION_AUDIT_DAYS,
        deadLettersDays: config.SKREAVER_RETENTION_DEAD_LETTERS_DAYS,
        batchSize: config.SKREAVER_RETENTION_BATCH_SIZE,
        // Half the interval: a pass never outlasts its turn, so two processes never sweep at once.
        passBudgetMs: interval / 2,
      },
      {
        runs: (before, limit) => runs.deleteFinishedBefore(before.iso, limit),
        audit: (before, limit) => audit.deleteBefore(before.iso, limit),
        dead_letters: (before, limit) => producer.trimBefore(Streams.deadLetters, {}, before.ms, limit),
      },
      logger,
    );
    this.turnKey = `${messaging.keyPrefix}:runs:retention-turn`;
    this.periodic = new PeriodicPass({ intervalMs: interval, pass: () => this.pass(), logger, failure: 'Retention sweep failed' });
    for (const kind of RETENTION_KINDS) deletedTotal.inc({ kind }, 0);
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  /** One sweep if it is this process's turn; the report, or null when another process has the turn. */
  async pass(now = Date.now()): Promise<RetentionReport | null> {
    if (!(await takeTurn(this.redis, this.turnKey, this.config.WORKER_ID, this.config.SKREAVER_RETENTION_SWEEP_INTERVAL_MS))) return null;
    const stop = sweepDuration.startTimer();
    try {
      const report = await this.sweeper.sweep(now);
      for (const kind of RETENTION_KINDS) if (report[kind] > 0) deletedTotal.inc({ kind }, report[kind]);
      return report;
    } finally {
      stop();
    }
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }
}
