import { DATABASE_KINDS, IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { DataSource } from 'typeorm';

import { createDataSource, DatabaseHealth, MIGRATIONS } from '../src';
import { PartialRunIndexes1796800000000 } from '../src/migrations/partial-run-indexes.migration';
import { optionsFor } from './persistence-fixtures';

const TABLES = ['agents', 'runs', 'run_events', 'run_steps', 'threads', 'thread_checkpoints'];

/** A partial index's WHERE as SQLite keeps it (`x IS NOT NULL`) or PostgreSQL prints it (`(x IS NOT NULL)`); null for none. */
function predicate(where: string | undefined): string | null {
  return where ? where.replace(/[()]/g, '').replace(/\s+/g, ' ').trim() : null;
}

describe.each(DATABASE_KINDS)('migrations on %s', (kind) => {
  let db: IsolatedDatabase;
  let dataSource: DataSource;
  let health: DatabaseHealth;

  beforeAll(async () => {
    db = await isolatedDatabase(kind, 'persistence-migrations');
    dataSource = createDataSource(optionsFor(db));
    await dataSource.initialize();
    health = new DatabaseHealth(dataSource);
  });

  afterAll(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.cleanup();
  });

  async function existingTables(): Promise<string[]> {
    const queryRunner = dataSource.createQueryRunner();
    try {
      const present: string[] = [];
      for (const table of TABLES) if (await queryRunner.hasTable(table)) present.push(table);
      return present;
    } finally {
      await queryRunner.release();
    }
  }

  it('should report pending migrations on an empty database without creating anything', async () => {
    await expect(health.hasPendingMigrations()).resolves.toBe(true);
    await expect(existingTables()).resolves.toEqual([]);
    const queryRunner = dataSource.createQueryRunner();
    await expect(queryRunner.hasTable('migrations')).resolves.toBe(false);
    await queryRunner.release();
  });

  it('should create every table from empty and then report nothing pending', async () => {
    const applied = await dataSource.runMigrations();
    expect(applied.map((migration) => migration.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
    await expect(existingTables()).resolves.toEqual(TABLES);
    await expect(health.hasPendingMigrations()).resolves.toBe(false);
  });

  it('should produce exactly the schema the entities describe', async () => {
    // Any drift (type, length, default, index, foreign key) would show up as a synchronize query.
    const diff = await dataSource.driver.createSchemaBuilder().log();
    expect(diff.upQueries.map((query) => query.query)).toEqual([]);
  });

  /** Every index of the entities' tables, by name, with its WHERE as the database reports it (null: every row). */
  async function indexPredicates(): Promise<Record<string, string | null>> {
    const queryRunner = dataSource.createQueryRunner();
    try {
      const tables = await queryRunner.getTables(dataSource.entityMetadatas.map((metadata) => metadata.tableName));
      return Object.fromEntries(tables.flatMap((table) => table.indices.map((index) => [index.name, predicate(index.where)])));
    } finally {
      await queryRunner.release();
    }
  }

  it('should give every index the WHERE its entity declares', async () => {
    // TypeORM's schema diff above compares an index's columns, never its WHERE: a partial index the entity does not
    // declare (or the reverse) would go unnoticed there.
    const declared = dataSource.entityMetadatas
      .flatMap((metadata) => metadata.indices)
      .map((index): [string, string | null] => [index.name, predicate(index.where)]);
    expect(declared).toContainEqual(['idx_runs_thread_id_status', 'thread_id IS NOT NULL']);
    expect(declared).toContainEqual(['idx_runs_input_expires_at', 'input_expires_at IS NOT NULL']);
    const actual = await indexPredicates();
    for (const [name, where] of declared) expect([name, actual[name]]).toEqual([name, where]);
  });

  it('should restore the full run indexes on down() of the partial-index migration, and the partial ones on up()', async () => {
    const queryRunner = dataSource.createQueryRunner();
    const migration = new PartialRunIndexes1796800000000();
    const runIndexes = async () => {
      const { idx_runs_thread_id_status, idx_runs_input_expires_at } = await indexPredicates();
      return { idx_runs_thread_id_status, idx_runs_input_expires_at };
    };
    try {
      await migration.down(queryRunner);
      await expect(runIndexes()).resolves.toEqual({ idx_runs_thread_id_status: null, idx_runs_input_expires_at: null });
      await migration.up(queryRunner);
      await expect(runIndexes()).resolves.toEqual({
        idx_runs_thread_id_status: 'thread_id IS NOT NULL',
        idx_runs_input_expires_at: 'input_expires_at IS NOT NULL',
      });
    } finally {
      await queryRunner.release();
    }
  });

  it('should apply nothing when run a second time', async () => {
    await expect(dataSource.runMigrations()).resolves.toEqual([]);
  });

  it('should drop every table on down() and migrate up again cleanly', async () => {
    for (let undone = 0; undone < MIGRATIONS.length; undone++) await dataSource.undoLastMigration();
    await expect(existingTables()).resolves.toEqual([]);
    await expect(health.hasPendingMigrations()).resolves.toBe(true);

    await dataSource.runMigrations();
    await expect(existingTables()).resolves.toEqual(TABLES);
    await expect(health.hasPendingMigrations()).resolves.toBe(false);
  });
});
