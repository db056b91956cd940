export * from './api-error';
export * from './api-exception.filter';
export * from './zod-validation.pipe';
export * from './service-app';
export * from './boot-service';
export * from './in-flight-limiter';
export * from './in-flight-limit.module';
