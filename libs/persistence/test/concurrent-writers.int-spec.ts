import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';

import { DATABASE_KINDS, IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { DataSource } from 'typeorm';

import { AgentRepository, createDataSource, HotSql, isDatabaseUnavailable, resolveDatabaseTarget, RunEventArchive, RunRepository } from '../src';
import {
  AgentFactory,
  at,
  openMigratedDataSource,
  optionsFor,
  RunEventFactory,
  RunFactory,
} from './persistence-fixtures';

const WRITES_PER_WRITER = 30;

describe.each(DATABASE_KINDS)('two data sources on one %s database', (kind) => {
  let db: IsolatedDatabase;
  let api: DataSource;
  let coordinator: DataSource;

  beforeAll(async () => {
    db = await isolatedDatabase(kind, 'persistence-concurrency');
    // Like agent-api (migrates) and mesh-coordinator (does not), each with its own connection.
    api = await openMigratedDataSource(db);
    coordinator = createDataSource(optionsFor(db, { runMigrations: false }));
    await coordinator.initialize();
  });

  afterAll(async () => {
    await coordinator.destroy();
    await api.destroy();
    await db.cleanup();
  });

  it(`should take ${WRITES_PER_WRITER * 2} interleaved concurrent writes from both without a busy error`, async () => {
    const agent = await new AgentRepository(api).insert(AgentFactory.create());
    const writers = [api, coordinator].map((dataSource) => ({
      runs: new RunRepository(dataSource),
      archive: new RunEventArchive(dataSource),
    }));

    const created = await Promise.all(
      Array.from({ length: WRITES_PER_WRITER * 2 }, async (_, index) => {
        const writer = writers[index % 2];
        const run = await writer.runs.insert(RunFactory.create(agent, { created_at: at(index) }));
        // The other process works on the same run, as the worker does after the API queued it.
        const other = writers[(index + 1) % 2];
        await other.runs.markRunning(run.id, 1, at(index + 1));
        await other.archive.append(RunEventFactory.createLog(run, 3));
        await writer.runs.markCompleted(run.id, { index }, at(index + 2));
        return run;
      }),
    );

    const seenByApi = await new RunRepository(api).listByAgent(agent.tenant_id, agent.id, { limit: 1_000 });
    const seenByCoordinator = await new RunRepository(coordinator).listByAgent(agent.tenant_id, agent.id, {
      limit: 1_000,
    });
    expect(seenByApi).toHaveLength(created.length);
    expect(seenByCoordinator).toEqual(seenByApi);
    expect(seenByApi.every((run) => run.status === 'completed')).toBe(true);
  });
});

describe('a SQLite file locked by another process', () => {
  let db: IsolatedDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await isolatedDatabase('sqlite', 'persistence-sqlite-lock');
    dataSource = await openMigratedDataSource(db);
  });

  afterAll(async () => {
    await dataSource.destroy();
    await db.cleanup();
  });

  it('should make a write wait for the lock instead of failing with SQLITE_BUSY', async () => {
    const holdMs = 400;
    // A second OS process takes the write lock and holds it, as a busy mesh-coordinator would.
    const holder = lockHolder(holdMs);
    await holder.locked;

    const started = performance.now();
    const agent = await new AgentRepository(dataSource).insert(AgentFactory.create());
    const waitedMs = performance.now() - started;

    expect(waitedMs).toBeGreaterThan(holdMs / 4);
    await expect(new AgentRepository(dataSource).findById(agent.tenant_id, agent.id)).resolves.toEqual(agent);
    const [code] = await holder.exited;
    expect(code).toBe(0);
  });

  /** A second OS process that takes the write lock, says `locked`, and commits when told (or after `holdMs`). */
  function lockHolder(holdMs: number) {
    const file = resolveDatabaseTarget(optionsFor(db));
    if (file.kind !== 'sqlite') throw new Error('expected a SQLite target');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.exec('BEGIN IMMEDIATE');
         console.log('locked');
         const release = () => { db.exec('COMMIT'); db.close(); process.exit(0); };
         process.stdin.once('data', release);
         setTimeout(release, ${holdMs});`,
        file.file,
      ],
      { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] },
    );
    return { exited: once(holder, 'exit'), locked: once(holder.stdout, 'data'), release: () => holder.stdin.end('go\n') };
  }

  it("should keep the event loop turning while a group commit waits for the other process's lock", async () => {
    const sql = new HotSql(dataSource);
    await sql.run('CREATE TABLE IF NOT EXISTS lock_probe (id varchar(36) PRIMARY KEY)', []);
    const holder = lockHolder(15_000);
    await holder.locked;

    let stored = false;
    const write = sql.run('INSERT INTO lock_probe (id) VALUES ($1)', ['waited']).then((changed) => {
      stored = true;
      return changed;
    });
    // SQLite's busy handler would sleep on this thread until the lock is released (never, until told): no timer fires.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stored).toBe(false);
    holder.release();

    await expect(write).resolves.toBe(1);
    await expect(sql.rows('SELECT id FROM lock_probe', [])).resolves.toEqual([{ id: 'waited' }]);
    const [code] = await holder.exited;
    expect(code).toBe(0);
  });

  it('should fail a group commit with SQLITE_BUSY once the lock was held longer than the busy timeout', async () => {
    const sql = new HotSql(dataSource);
    await sql.run('CREATE TABLE IF NOT EXISTS lock_probe (id varchar(36) PRIMARY KEY)', []);
    const holder = lockHolder(15_000);
    await holder.locked;

    const error: unknown = await sql.run('INSERT INTO lock_probe (id) VALUES ($1)', ['refused']).then(
      () => null,
      (cause: unknown) => cause,
    );
    holder.release();
    await holder.exited;

    // As before: the caller sees an outage (busy timeout, data-source.factory.ts), and nothing was stored.
    expect(isDatabaseUnavailable(error)).toBe(true);
    await expect(sql.rows('SELECT id FROM lock_probe WHERE id = $1', ['refused'])).resolves.toEqual([]);
  }, 20_000);
});
