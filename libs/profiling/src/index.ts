export * from './profiler';
export * from './admin-token.check';
export * from './profiling.module';
