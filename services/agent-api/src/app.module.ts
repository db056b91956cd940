import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@skreaver/config';
import { InFlightLimitModule } from '@skreaver/http';
import { MessagingModule } from '@skreaver/messaging';
import { ObservabilityModule } from '@skreaver/observability';
import type { JsonLogger } from '@skreaver/observability';
import { PersistenceModule } from '@skreaver/persistence';
import { ProfilingModule } from '@skreaver/profiling';
import { RunExecutionModule, RunLifecycleModule, runJobRetention } from '@skreaver/runs';

import { AgentsModule } from './agents/agents.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ConsoleModule } from './console/console.module';
import { AGENT_API_CONFIG, requireJwtSecret } from './config';
import type { AgentApiConfig } from './config';
import { ReadinessChecks } from './health/readiness-checks';
import { MemoryModule } from './memory/memory.module';
import { MeshModule } from './mesh/mesh.module';
import { OpenApiModule } from './openapi/openapi.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RunsModule } from './runs/runs.module';
import { ThreadsModule } from './threads/threads.module';
import { ToolsModule } from './tools/tools.module';

/** agent-api: composes the feature and platform modules; declares no logic of its own. */
@Module({})
export class AppModule {
  static forRoot(config: AgentApiConfig, logger: JsonLogger): DynamicModule {
    // Before anything opens a connection: a missing secret stops the boot with a message naming the variable.
    requireJwtSecret(config);
    // Direct mode (the runbook's fallback): runs go to an in-process queue that this process executes.
    const direct = !config.SKREAVER_MESH_ENABLED;
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(AGENT_API_CONFIG, config),
        ObservabilityModule.forRoot({ serviceName: 'agent-api', logger, dataDir: config.SKREAVER_DATA_DIR, dataDirSizeLimitBytes: config.SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES }),
        MessagingModule.forRoot({
          url: config.REDIS_URL,
          keyPrefix: config.REDIS_KEY_PREFIX,
          connectionName: 'agent-api',
          eventsStreamMaxLen: config.SKREAVER_EVENTS_STREAM_MAXLEN,
        }),
        MessagingModule,
        ProfilingModule.forRoot({ enabled: config.SKREAVER_ENABLE_PROFILING, jwtSecret: config.JWT_SECRET_KEY }),
        PersistenceModule,
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          dataDir: config.SKREAVER_DATA_DIR,
          poolSize: config.DATABASE_POOL_SIZE,
          // agent-api owns the schema: it alone migrates, the coordinator waits for it.
          runMigrations: true,
        }),
        RunLifecycleModule.forRoot({
          maxAttempts: config.RUN_MAX_ATTEMPTS,
          eventsTtlSeconds: config.RUN_EVENTS_TTL_SECONDS,
          jobRetention: runJobRetention(config),
          queue: config.RUN_QUEUE,
          dispatch: direct ? 'in-process' : 'queue',
          mesh: { inboxLimit: config.SKREAVER_MESH_INBOX_LIMIT, streamMaxLen: config.SKREAVER_MESH_STREAM_MAXLEN },
        }),
        InFlightLimitModule.forRoot({ maxInFlight: config.SKREAVER_MAX_IN_FLIGHT }),
        RateLimitModule,
        AuthModule,
        ApiKeysModule,
        AuditModule,
        AgentsModule,
        RunsModule,
        ThreadsModule,
        MeshModule,
        ToolsModule,
        MemoryModule.forRoot(),
        OpenApiModule,
        ConsoleModule,
        ...(direct ? [RunExecutionModule.forRoot(config, { meshEnabled: false, inProcess: { shutdownGraceMs: directShutdownGraceMs(config) } })] : []),
      ],
      // ReadinessChecks injects RedisHealth and DatabaseHealth.
      providers: [ReadinessChecks],
    };
  }
}

/** Runs in flight get most of the shutdown timeout to finish; the rest is for ending the ones that did not. */
function directShutdownGraceMs(config: AgentApiConfig): number {
  return Math.floor(config.SHUTDOWN_TIMEOUT_MS * 0.8);
}
