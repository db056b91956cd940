import { Global, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';

import { HealthController } from './health/health.controller';
import { ReadinessService } from './health/readiness.service';
import { JsonLogger } from './logging/json-logger';
import { HttpMetrics } from './metrics/http-metrics';
import { ensureDefaultMetrics } from './metrics/metric-registry';
import { registerResourceMetrics } from './metrics/resource-metrics';

export interface ObservabilityOptions {
  /** Service name shown in `/ready` and metrics. */
  serviceName: string;
  logger: JsonLogger;
  /** Directory whose file system `skreaver_disk_*` reports (the service's data directory); default the working directory. */
  dataDir?: string;
  /** Size limit of the data volume (SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES); 0 or unset: the file system. */
  dataDirSizeLimitBytes?: number;
}

/** `/health`, `/ready`, `/metrics`, the JSON logger and HTTP metrics; global because every module logs and reports readiness. */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    ensureDefaultMetrics();
    registerResourceMetrics({ dataDir: options.dataDir ?? process.cwd(), dataDirSizeLimitBytes: options.dataDirSizeLimitBytes });
    return {
      module: ObservabilityModule,
      imports: [PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: false } })],
      controllers: [HealthController],
      providers: [
        { provide: JsonLogger, useValue: options.logger },
        HttpMetrics,
        {
          provide: ReadinessService,
          useFactory: () => {
            const readiness = new ReadinessService();
            readiness.setServiceName(options.serviceName);
            return readiness;
          },
        },
      ],
      exports: [JsonLogger, HttpMetrics, ReadinessService],
    };
  }
}
