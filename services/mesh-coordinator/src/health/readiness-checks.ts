import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { RedisHealth } from '@skreaver/messaging';
import { ReadinessService } from '@skreaver/observability';
import { DatabaseHealth } from '@skreaver/persistence';

import { RunJobsConsumer } from '../consumers/run-jobs.consumer';

/**
 * The coordinator is ready when Redis answers and its run worker is taking jobs. The (migrated) database is reported
 * but not required: runs in flight finish and their bookkeeping waits for it, and its own routes (metrics, profiling)
 * do not touch it.
 */
@Injectable()
export class ReadinessChecks implements OnModuleInit {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly redis: RedisHealth,
    private readonly database: DatabaseHealth,
    private readonly runJobs: RunJobsConsumer,
  ) {}

  onModuleInit(): void {
    this.readiness.register('redis', () => this.redis.check());
    // Reported, not required: the database is shared by every replica, and this pod serves without it (see above).
    this.readiness.register(
      'database',
      async () => {
        const result = await this.database.check();
        if (await this.database.hasPendingMigrations()) throw new Error('schema not migrated yet (agent-api migrates it)');
        return result;
      },
      { required: false },
    );
    this.readiness.register('run_worker', async () => {
      if (!this.runJobs.running) throw new Error('run worker not started');
    });
  }
}
