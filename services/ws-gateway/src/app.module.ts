import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@skreaver/config';
import { MessagingModule } from '@skreaver/messaging';
import { ObservabilityModule } from '@skreaver/observability';
import type { JsonLogger } from '@skreaver/observability';

import { WS_GATEWAY_CONFIG } from './config';
import type { WsGatewayConfig } from './config';
import { ReadinessChecks } from './health/readiness-checks';
import { LiveModule } from './live/live.module';

/** ws-gateway: composes the live-events feature with the platform modules. */
@Module({})
export class AppModule {
  static forRoot(config: WsGatewayConfig, logger: JsonLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(WS_GATEWAY_CONFIG, config),
        ObservabilityModule.forRoot({ serviceName: 'ws-gateway', logger }),
        MessagingModule.forRoot({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, connectionName: 'ws-gateway' }),
        LiveModule,
      ],
      providers: [ReadinessChecks],
    };
  }
}
