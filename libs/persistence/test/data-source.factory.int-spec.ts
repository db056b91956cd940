import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { DATABASE_KINDS, IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { DataSource } from 'typeorm';

import { createDataSource, describeDatabase } from '../src';
import { optionsFor } from './persistence-fixtures';

describe.each(DATABASE_KINDS)(`${createDataSource.name} on %s`, (kind) => {
  let db: IsolatedDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await isolatedDatabase(kind, 'persistence-data-source');
    dataSource = createDataSource(optionsFor(db, { poolSize: 3 }));
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource.destroy();
    await db.cleanup();
  });

  if (kind === 'sqlite') {
    it('should open the file under dataDir in WAL mode with a busy timeout and foreign keys on', async () => {
      expect(existsSync(join(db.dataDir, 'skreaver.sqlite'))).toBe(true);
      await expect(dataSource.query('PRAGMA journal_mode')).resolves.toEqual([{ journal_mode: 'wal' }]);
      await expect(dataSource.query('PRAGMA busy_timeout')).resolves.toEqual([{ timeout: 5000 }]);
      await expect(dataSource.query('PRAGMA foreign_keys')).resolves.toEqual([{ foreign_keys: 1 }]);
    });

    it('should create the directory of a sqlite: URL that does not exist yet', async () => {
      const file = join(db.dataDir, 'nested', 'deeper', 'custom.db');
      const custom = createDataSource(optionsFor(db, { databaseUrl: `sqlite:${file}` }));
      await custom.initialize();
      await custom.runMigrations();
      await custom.destroy();

      expect(existsSync(file)).toBe(true);
      expect(describeDatabase({ databaseUrl: `sqlite:${file}`, dataDir: db.dataDir })).toEqual({
        kind: 'sqlite',
        target: file,
      });
    });
  } else {
    it('should size the connection pool from poolSize', () => {
      const driver = dataSource.driver as unknown as { master: { options: { max: number } } };
      expect(driver.master.options.max).toBe(3);
    });
  }

  it('should never synchronize the schema on its own', async () => {
    const queryRunner = dataSource.createQueryRunner();
    try {
      await expect(queryRunner.hasTable('agents')).resolves.toBe(false);
    } finally {
      await queryRunner.release();
    }
  });
});
