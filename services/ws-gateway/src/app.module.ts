import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@skreaver/config';
import { MessagingModule } from '@skreaver/messaging';
import { ObservabilityModule } from '@skreaver/observability';
import type { JsonLogger } from '@skreaver/observability';
import { PersistenceModule } from '@skreaver/persistence';
import { ProfilingModule } from '@skreaver/profiling';

import { WS_GATEWAY_CONFIG } from './config';
import type { WsGatewayConfig } from './config';
import { GatewayModule } from './gateway/gateway.module';
import { ReadinessChecks } from './health/readiness-checks';
import { LiveModule } from './live/live.module';

/** ws-gateway: composes the transports and the live-events feature with the platform modules. */
@Module({})
export class AppModule {
  static forRoot(config: WsGatewayConfig, logger: JsonLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(WS_GATEWAY_CONFIG, config),
        ObservabilityModule.forRoot({ serviceName: 'ws-gateway', logger, dataDir: config.SKREAVER_DATA_DIR, dataDirSizeLimitBytes: config.SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES }),
        MessagingModule.forRoot({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, connectionName: 'ws-gateway' }),
        MessagingModule,
        ProfilingModule.forRoot({ enabled: config.SKREAVER_ENABLE_PROFILING, jwtSecret: config.JWT_SECRET_KEY }),
        PersistenceModule,
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          dataDir: config.SKREAVER_DATA_DIR,
          poolSize: config.DATABASE_POOL_SIZE,
          // agent-api owns the schema; the gateway only reads API keys and archived events.
          runMigrations: false,
        }),
        LiveModule,
        GatewayModule,
      ],
      // ReadinessChecks injects RedisHealth and DatabaseHealth.
      providers: [ReadinessChecks],
    };
  }
}
