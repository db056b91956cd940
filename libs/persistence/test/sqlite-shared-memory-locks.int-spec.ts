import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

import { IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { DataSource } from 'typeorm';

import { createDataSource, SQLITE_FILE_NAME, SqliteCheckpointResult, SqliteSharedMemory, sqliteWalCheckpointer } from '../src';
import { optionsFor } from './persistence-fixtures';

// The part of a better-sqlite3 Database (TypeORM's driver#databaseConnection) these tests drive by hand.
interface RawConnection {
  readonly inTransaction: boolean;
  exec(sql: string): unknown;
  prepare(sql: string): { get(): unknown };
}

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * Another process's RESTART checkpoint that does not wait (busy_timeout 0): busy 1 while any connection holds a read
 * transaction on the WAL, as SQLite guarantees, and busy 0 when that reader's locks are gone.
 */
function restartFromAnotherProcess(file: string): CheckpointRow {
  const source = `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new Database(${JSON.stringify(file)}, { timeout: 0 });
    db.pragma('wal_autocheckpoint = 0');
    process.stdout.write(JSON.stringify(db.pragma('wal_checkpoint(RESTART)')[0]));
    db.close();`;
  return JSON.parse(execFileSync(process.execPath, ['-e', source], { encoding: 'utf8' })) as CheckpointRow;
}

function connectionOf(dataSource: DataSource): RawConnection {
  return (dataSource.driver as unknown as { databaseConnection: RawConnection }).databaseConnection;
}

/** Commits `rows` rows of ~2 KB, enough WAL frames for the checkpointer's threshold below. */
async function write(dataSource: DataSource, rows: number): Promise<void> {
  await dataSource.transaction(async (manager) => {
    for (let row = 0; row < rows; row += 1) await manager.query('INSERT INTO wal_load (body) VALUES (?)', ['x'.repeat(2_000)]);
  });
}

/** Starts a read transaction on `connection` that uses the WAL's current frames (a snapshot), and leaves it open. */
function holdReadTransaction(connection: RawConnection): void {
  connection.exec('BEGIN');
  connection.prepare('SELECT COUNT(*) FROM wal_load').get();
}

describe('SQLite -shm locks of this process', () => {
  let db: IsolatedDatabase;
  let file: string;
  const open: DataSource[] = [];

  async function openDataSource(sqliteCheckpointIntervalMs: number): Promise<DataSource> {
    const dataSource = createDataSource(optionsFor(db, { runMigrations: false, sqliteCheckpointIntervalMs, sqliteCheckpointPages: 8 }));
    await dataSource.initialize();
    open.push(dataSource);
    return dataSource;
  }

  beforeEach(async () => {
    db = await isolatedDatabase('sqlite', 'persistence-shm-locks');
    file = join(db.dataDir, SQLITE_FILE_NAME);
  });

  afterEach(async () => {
    for (const dataSource of open.splice(0)) {
      if (!dataSource.isInitialized) continue;
      if (connectionOf(dataSource).inTransaction) connectionOf(dataSource).exec('ROLLBACK');
      await dataSource.destroy();
    }
    await db.cleanup();
  });

  it('should lose a read transaction to another process when any descriptor of the -shm is closed here (the hazard)', async () => {
    const dataSource = await openDataSource(0);
    await dataSource.query('CREATE TABLE wal_load (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    await write(dataSource, 32);
    holdReadTransaction(connectionOf(dataSource));
    expect(restartFromAnotherProcess(file).busy).toBe(1);

    // What the checkpointer's worker did every tick (a76374f): POSIX drops all of this process's locks on the file.
    const fd = openSync(`${file}-shm`, 'r');
    readSync(fd, Buffer.alloc(20), 0, 20, 0);
    closeSync(fd);

    // The reader's snapshot is no longer protected: the other process restarts the WAL under it.
    expect(restartFromAnotherProcess(file).busy).toBe(0);
  });

  it('should keep the read locks of the connection while its checkpointer reads the WAL size', async () => {
    const dataSource = await openDataSource(10);
    await dataSource.query('CREATE TABLE wal_load (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const checkpointer = sqliteWalCheckpointer(dataSource);
    if (!checkpointer) throw new Error('the SQLite data source has no WAL checkpointer');
    holdReadTransaction(connectionOf(dataSource));

    // A second connection of this process commits while the first reads; ticks read the -shm until one checkpoints.
    const writer = await openDataSource(0);
    const checkpointed = new Promise<SqliteCheckpointResult>((resolve) => {
      const remove = checkpointer.onCheckpoint((result) => {
        remove();
        resolve(result);
      });
    });
    await write(writer, 32);
    await checkpointed;

    expect(restartFromAnotherProcess(file).busy).toBe(1);
  });

  it('should keep the -shm descriptor until the last data source of the file is destroyed', async () => {
    const first = await openDataSource(10);
    const second = await openDataSource(10);
    await first.query('CREATE TABLE wal_load (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    await write(first, 32);
    holdReadTransaction(connectionOf(second));

    await first.destroy();

    expect(SqliteSharedMemory.descriptor(file)).toEqual(expect.any(Number));
    expect(restartFromAnotherProcess(file).busy).toBe(1);
    connectionOf(second).exec('ROLLBACK');
    await second.destroy();
    expect(SqliteSharedMemory.descriptor(file)).toBeUndefined();
  });

  it('should read the same rows in a snapshot while another process writes and restarts the WAL', async () => {
    const dataSource = await openDataSource(10);
    await dataSource.query('CREATE TABLE wal_load (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    await write(dataSource, 32);
    const connection = connectionOf(dataSource);
    // No page cache: every read of the snapshot goes to the WAL and the database file.
    connection.exec('PRAGMA cache_size = 0');
    const before = connection.prepare('SELECT COUNT(*) AS count, SUM(LENGTH(body)) AS bytes FROM wal_load').get();
    // The snapshot starts with a read of the schema only, so the table's pages are read after the other process wrote.
    connection.exec('BEGIN');
    connection.prepare('SELECT COUNT(*) FROM sqlite_master').get();

    const source = `
      const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
      const db = new Database(${JSON.stringify(file)}, { timeout: 0 });
      db.pragma('wal_autocheckpoint = 0');
      const insert = db.prepare('INSERT INTO wal_load (body) VALUES (?)');
      db.exec('DELETE FROM wal_load');
      db.transaction(() => { for (let i = 0; i < 200; i += 1) insert.run('y'.repeat(3000)); })();
      db.pragma('wal_checkpoint(RESTART)');
      db.transaction(() => { for (let i = 0; i < 200; i += 1) insert.run('z'.repeat(1000)); })();
      db.close();`;
    execFileSync(process.execPath, ['-e', source]);

    expect(connection.prepare('SELECT COUNT(*) AS count, SUM(LENGTH(body)) AS bytes FROM wal_load').get()).toEqual(before);
  });
});
