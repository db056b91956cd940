import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { RedisHealth } from '@skreaver/messaging';
import { ReadinessService } from '@skreaver/observability';
import { DatabaseHealth } from '@skreaver/persistence';

/** agent-api is ready when Redis (queue, event log) and the database answer. */
@Injectable()
export class ReadinessChecks implements OnModuleInit {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly redis: RedisHealth,
    private readonly database: DatabaseHealth,
  ) {}

  onModuleInit(): void {
    this.readiness.register('redis', () => this.redis.check());
    this.readiness.register('database', () => this.database.check());
  }
}
