export * from './api-key.codec';
export * from './api-key-store';
export * from './auth-error';
export * from './token-denylist';
export * from './token.service';
export * from './authenticator';
export * from './auth-core.module';
