import { DATABASE_KINDS, IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { DataSource } from 'typeorm';

import { createDataSource, DatabaseHealth, MIGRATIONS } from '../src';
import { optionsFor } from './persistence-fixtures';

const TABLES = ['agents', 'runs', 'run_events', 'run_steps', 'threads', 'thread_checkpoints'];

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
