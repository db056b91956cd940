import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { RedisHealth } from '@skreaver/messaging';
import { ReadinessService } from '@skreaver/observability';
import { DatabaseHealth } from '@skreaver/persistence';

import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';

/**
 * agent-api needs Redis for every authenticated request (token denylist) and for runs; without the database it still
 * serves what does not touch it (tokens, mesh, live run events) and answers 503 `database_unavailable` on the rest, so
 * a database outage leaves it in rotation (`degraded`) and `/ready` reports it.
 */
@Injectable()
export class ReadinessChecks implements OnModuleInit {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly redis: RedisHealth,
    private readonly database: DatabaseHealth,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
  ) {}

  onModuleInit(): void {
    this.readiness.register('redis', () => this.redis.check());
    this.readiness.register('database', () => this.database.check(), { required: false });
    // Not a dependency but the mode: `direct` is the runbook's fallback (SKREAVER_MESH_ENABLED=false).
    this.readiness.register('mesh', async () => ({ mode: this.config.SKREAVER_MESH_ENABLED ? 'mesh' : 'direct' }), { required: false });
  }
}
