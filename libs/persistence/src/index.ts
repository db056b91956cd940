export * from './data-source.factory';
export * from './migrations/migration-list';
export * from './agent.repository';
export * from './run.repository';
export * from './run-event.archive';
export * from './database.health';
export * from './persistence.module';
export * from './database-errors';
