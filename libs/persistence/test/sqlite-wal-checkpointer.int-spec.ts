import { readSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { DataSource } from 'typeorm';

import {
  createDataSource,
  SQLITE_FILE_NAME,
  SqliteCheckpointResult,
  SqliteSharedMemory,
  sqliteWalCheckpointer,
  SqliteWalCheckpointer,
} from '../src';
import { optionsFor } from './persistence-fixtures';

// Far below SQLite's 1,000-page autocheckpoint (~4 MiB), so every bound below is one SQLite alone would not keep.
const WAL_LIMIT_BYTES = 512 * 1024;
const CHECKPOINT_PAGES = 16;
const ROW_BYTES = 4_000;
// ~256 KiB per round, 40 rounds: 10 MiB written in all.
const ROWS_PER_ROUND = 64;
const ROUNDS = 40;

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * mxFrame of the wal-index header (https://www.sqlite.org/walformat.html), little-endian on the machines we run on.
 * Read through the descriptor the data sources share: closing one of our own would drop their locks (SqliteSharedMemory).
 */
function framesInWal(databaseFile: string): number {
  const fd = SqliteSharedMemory.descriptor(databaseFile);
  if (fd === undefined) throw new Error(`${databaseFile} has no -shm open`);
  const header = Buffer.alloc(20);
  readSync(fd, header, 0, 20, 0);
  return header.readUInt32LE(16);
}

function checkpointerOf(dataSource: DataSource): SqliteWalCheckpointer {
  const checkpointer = sqliteWalCheckpointer(dataSource);
  if (!checkpointer) throw new Error('the SQLite data source has no WAL checkpointer');
  return checkpointer;
}

/** Resolves with the next tick of any of `checkpointers` that was not busy: every frame committed before is then back. */
function nextCheckpoint(...checkpointers: SqliteWalCheckpointer[]): Promise<SqliteCheckpointResult> {
  return new Promise((resolve) => {
    const removals = checkpointers.map((checkpointer) =>
      checkpointer.onCheckpoint((result) => {
        if (result.busy) return;
        for (const remove of removals) remove();
        resolve(result);
      }),
    );
  });
}

async function writeRound(dataSource: DataSource, round: number, writer: string, rows = ROWS_PER_ROUND): Promise<void> {
  await dataSource.transaction(async (manager) => {
    for (let row = 0; row < rows; row += 1) {
      await manager.query('INSERT INTO wal_load (id, body) VALUES (?, ?)', [`${writer}-${round}-${row}`, 'x'.repeat(ROW_BYTES)]);
    }
  });
}

describe(SqliteWalCheckpointer.name, () => {
  let db: IsolatedDatabase;
  let file: string;
  const open: DataSource[] = [];

  async function openDataSource(): Promise<DataSource> {
    const dataSource = createDataSource(
      optionsFor(db, {
        runMigrations: false,
        sqliteCheckpointIntervalMs: 20,
        sqliteCheckpointPages: CHECKPOINT_PAGES,
        sqliteWalLimitBytes: WAL_LIMIT_BYTES,
      }),
    );
    await dataSource.initialize();
    open.push(dataSource);
    return dataSource;
  }

  beforeEach(async () => {
    db = await isolatedDatabase('sqlite', 'persistence-wal-checkpointer');
    file = join(db.dataDir, SQLITE_FILE_NAME);
  });

  afterEach(async () => {
    for (const dataSource of open.splice(0)) if (dataSource.isInitialized) await dataSource.destroy();
    await db.cleanup();
  });

  it('should turn SQLite autocheckpoint off, copy the WAL back and start it over from its worker', async () => {
    const dataSource = await openDataSource();
    await dataSource.query('CREATE TABLE wal_load (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
    const databaseBytesBefore = fileBytes(file);

    const checkpointed = nextCheckpoint(checkpointerOf(dataSource));
    await writeRound(dataSource, 0, 'a');
    const result = await checkpointed;

    await expect(dataSource.query('PRAGMA wal_autocheckpoint')).resolves.toEqual([{ wal_autocheckpoint: 0 }]);
    expect(result).toMatchObject({ checkpointed: result.log, startedOver: true });
    // The worker's own write started the WAL over (so its header fsync ran there): one frame, the database header's.
    expect(framesInWal(file)).toBe(1);
    // Pages reach the database file only through a checkpoint, and nothing on this connection ran one.
    expect(fileBytes(file)).toBeGreaterThan(databaseBytesBefore + ROWS_PER_ROUND * ROW_BYTES * 0.9);
  });

  it('should keep the WAL bounded under a write load from two data sources on the same file', async () => {
    const first = await openDataSource();
    const second = await openDataSource();
    await first.query('CREATE TABLE wal_load (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
    let walMaxBytes = 0;

    for (let round = 0; round < ROUNDS; round += 1) {
      // A checkpoint after each round rather than a pause: the bound then does not depend on the machine's speed.
      const checkpointed = nextCheckpoint(checkpointerOf(first), checkpointerOf(second));
      await writeRound(round % 2 === 0 ? first : second, round, round % 2 === 0 ? 'a' : 'b');
      walMaxBytes = Math.max(walMaxBytes, fileBytes(`${file}-wal`));
      await checkpointed;
    }

    // 10 MiB went through the WAL; its file never held much more than the limit and the round written on top.
    expect(walMaxBytes).toBeLessThan(WAL_LIMIT_BYTES + 2 * ROWS_PER_ROUND * ROW_BYTES);
    await expect(second.query('SELECT COUNT(*) AS count FROM wal_load')).resolves.toEqual([{ count: ROUNDS * ROWS_PER_ROUND }]);
    await expect(second.query('PRAGMA wal_autocheckpoint')).resolves.toEqual([{ wal_autocheckpoint: 0 }]);
  });

  it('should add a RESTART checkpoint once the WAL holds more than the limit, so the next writer starts it over', async () => {
    const first = await openDataSource();
    await first.query('CREATE TABLE wal_load (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
    // One commit over the limit: no tick can start the WAL over in between.
    await writeRound(first, 0, 'a', 3 * ROWS_PER_ROUND);
    const walBytes = fileBytes(`${file}-wal`);

    const restarted = await new Promise<SqliteCheckpointResult>((resolve) => {
      const remove = checkpointerOf(first).onCheckpoint((result) => {
        if (result.mode !== 'RESTART' || result.busy) return;
        remove();
        resolve(result);
      });
    });
    await writeRound(first, 1, 'a');

    expect(restarted.log * 4_096).toBeGreaterThan(WAL_LIMIT_BYTES);
    // Started over: the second commit's frames overwrote the first's instead of growing the file.
    expect(fileBytes(`${file}-wal`)).toBe(walBytes);
  });

  it('should leave checkpoints to SQLite when the interval is 0', async () => {
    const dataSource = createDataSource(optionsFor(db, { runMigrations: false, sqliteCheckpointIntervalMs: 0 }));
    await dataSource.initialize();
    open.push(dataSource);

    expect(sqliteWalCheckpointer(dataSource)).toBeUndefined();
    await expect(dataSource.query('PRAGMA wal_autocheckpoint')).resolves.toEqual([{ wal_autocheckpoint: 1000 }]);
  });
});
