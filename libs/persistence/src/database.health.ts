import { performance } from 'node:perf_hooks';

import { withTimeout } from '@skreaver/util';

import { DataSource } from 'typeorm';

const PING_TIMEOUT_MS = 1_000;
const DEFAULT_MIGRATIONS_TABLE = 'migrations';

/** Probes the database for readiness checks. */
export class DatabaseHealth {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `SELECT 1`. @throws when the data source is not initialized, the query fails or takes over 1 s. */
  async check(): Promise<{ latency_ms: number }> {
    if (!this.dataSource.isInitialized) throw new Error('database connection is not initialized');
    const started = performance.now();
    await withTimeout(
      this.dataSource.query('SELECT 1'),
      PING_TIMEOUT_MS,
      `database did not answer SELECT 1 within ${PING_TIMEOUT_MS} ms`,
    );
    return { latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  /** Whether any migration in `MIGRATIONS` has not been applied. Read-only, unlike TypeORM's `showMigrations()`. */
  async hasPendingMigrations(): Promise<boolean> {
    const known = this.dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name);
    const table = this.dataSource.options.migrationsTableName ?? DEFAULT_MIGRATIONS_TABLE;
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      if (!(await queryRunner.hasTable(table))) return known.length > 0;
      const applied = await this.dataSource
        .createQueryBuilder(queryRunner)
        .select('m.name', 'name')
        .from(table, 'm')
        .getRawMany<{ name: string }>();
      const appliedNames = new Set(applied.map((row) => row.name));
      return known.some((name) => !appliedNames.has(name));
    } finally {
      await queryRunner.release();
    }
  }
}
