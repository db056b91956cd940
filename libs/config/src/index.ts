export * from './define-config';
export * from './document-env';
export * from './env-fields';
export * from './log-level';
export * from './config.module';
