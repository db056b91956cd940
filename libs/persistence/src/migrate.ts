import type { DataSource, Migration } from 'typeorm';

import { createDataSource } from './data-source.factory';
import type { PersistenceOptions } from './data-source.factory';

/**
 * Several agent-api replicas (or a Helm pre-upgrade Job and a replica) start at once: on PostgreSQL a session
 * advisory lock lets one migrate while the others wait, then find nothing left to do. (SQLite is a single-host
 * file; its write lock suffices.)
 */
async function withMigrationLock<T>(dataSource: DataSource, migrate: () => Promise<T>): Promise<T> {
  if (dataSource.options.type !== 'postgres') return migrate();
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', ['skreaver.migrations']);
    return await migrate();
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', ['skreaver.migrations']).catch(() => undefined);
    await lock.release();
  }
}

/** Applies pending migrations in one transaction, serialised across processes; returns the ones applied. */
export function runMigrations(dataSource: DataSource): Promise<Migration[]> {
  return withMigrationLock(dataSource, () => dataSource.runMigrations({ transaction: 'all' }));
}

/** Opens the database, applies pending migrations and closes it: the `--migrate-only` mode of agent-api. */
export async function migrateDatabase(options: Omit<PersistenceOptions, 'runMigrations'>): Promise<string[]> {
  const dataSource = createDataSource({ ...options, runMigrations: true });
  await dataSource.initialize();
  try {
    return (await runMigrations(dataSource)).map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
