import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@skreaver/config';
import { MessagingModule } from '@skreaver/messaging';
import { ObservabilityModule } from '@skreaver/observability';
import type { JsonLogger } from '@skreaver/observability';
import { PersistenceModule } from '@skreaver/persistence';
import { ProfilingModule } from '@skreaver/profiling';
import { RunLifecycleModule, runJobRetention } from '@skreaver/runs';

import { MESH_COORDINATOR_CONFIG } from './config';
import type { MeshCoordinatorConfig } from './config';
import { ReadinessChecks } from './health/readiness-checks';
import { MeshModule } from './mesh/mesh.module';
import { RunsModule } from './runs/runs.module';

/** mesh-coordinator: composes the run workers with the platform modules. */
@Module({})
export class AppModule {
  static forRoot(config: MeshCoordinatorConfig, logger: JsonLogger): DynamicModule {
    const runs = RunsModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(MESH_COORDINATOR_CONFIG, config),
        ObservabilityModule.forRoot({ serviceName: 'mesh-coordinator', logger, dataDir: config.SKREAVER_DATA_DIR, dataDirSizeLimitBytes: config.SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES }),
        MessagingModule.forRoot({
          url: config.REDIS_URL,
          keyPrefix: config.REDIS_KEY_PREFIX,
          connectionName: 'mesh-coordinator',
          eventsStreamMaxLen: config.SKREAVER_EVENTS_STREAM_MAXLEN,
        }),
        MessagingModule,
        ProfilingModule.forRoot({ enabled: config.SKREAVER_ENABLE_PROFILING, jwtSecret: config.JWT_SECRET_KEY }),
        PersistenceModule,
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          dataDir: config.SKREAVER_DATA_DIR,
          poolSize: config.DATABASE_POOL_SIZE,
          runMigrations: false,
        }),
        RunLifecycleModule.forRoot({
          maxAttempts: config.RUN_MAX_ATTEMPTS,
          eventsTtlSeconds: config.RUN_EVENTS_TTL_SECONDS,
          jobRetention: runJobRetention(config),
          queue: config.RUN_QUEUE,
          mesh: { inboxLimit: config.SKREAVER_MESH_INBOX_LIMIT, streamMaxLen: config.SKREAVER_MESH_STREAM_MAXLEN },
        }),
        runs,
        MeshModule.forRoot(runs),
      ],
      // ReadinessChecks injects RedisHealth and DatabaseHealth.
      providers: [ReadinessChecks],
    };
  }
}
