export * from './run-dispatcher';
export * from './run-cancellation';
export * from './run-queue';
export * from './run-lifecycle.module';
export * from './run-creator';
export * from './mesh-publisher';
export * from './in-process-run-queue';
export * from './execution';
