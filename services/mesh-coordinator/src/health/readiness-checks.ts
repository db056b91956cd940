import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { RedisHealth } from '@skreaver/messaging';
import { ReadinessService } from '@skreaver/observability';
import { DatabaseHealth } from '@skreaver/persistence';

import { RunJobsConsumer } from '../consumers/run-jobs.consumer';

/** The coordinator is ready when Redis and the (migrated) database answer and its run worker is taking jobs. */
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
    this.readiness.register('database', async () => {
      const result = await this.database.check();
      if (await this.database.hasPendingMigrations()) throw new Error('schema not migrated yet (agent-api migrates it)');
      return result;
    });
    this.readiness.register('run_worker', async () => {
      if (!this.runJobs.running) throw new Error('run worker not started');
    });
  }
}
