export * from './logging/json-logger';
export * from './logging/request-context';
export * from './metrics/metric-registry';
export * from './metrics/http-metrics';
export * from './metrics/resource-metrics';
export * from './health/readiness.service';
export * from './health/health.controller';
export * from './observability.module';
