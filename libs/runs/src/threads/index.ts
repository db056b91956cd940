export * from './thread-run-gate';
export * from './thread-run-slots';
export * from './thread-size-policy';
export * from './thread-turns';
