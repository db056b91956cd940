export * from './define-config';
export * from './env-fields';
export * from './log-level';
export * from './config.module';
