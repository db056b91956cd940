import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { StoredApiKey } from '@skreaver/auth';
import { DEFAULT_TENANT } from '@skreaver/contracts';
import { AgentRepository, ApiKeyRepository, createDataSource, RunRepository } from '@skreaver/persistence';
import { isolatedPostgres } from '@skreaver/testing';
import type { IsolatedDatabase } from '@skreaver/testing';
import { newId } from '@skreaver/util';
import type { DataSource } from 'typeorm';

import { AgentFactory, at, RunFactory } from '../../libs/persistence/test/persistence-fixtures';
import { requireTool } from './ops-fixtures';

// docs/RUNBOOK.md "Backup & Recovery": pg_dump of a running instance, restore into a fresh database with psql,
// agents, runs and API keys intact. Against the real PostgreSQL of `npm test` (127.0.0.1:5432).

async function open(db: IsolatedDatabase, migrate: boolean): Promise<DataSource> {
  const dataSource = createDataSource({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2, runMigrations: migrate });
  await dataSource.initialize();
  if (migrate) await dataSource.runMigrations({ transaction: 'all' });
  return dataSource;
}

describe('PostgreSQL backup and restore (pg_dump | psql)', () => {
  let source: IsolatedDatabase;
  let restored: IsolatedDatabase;
  let dir: string;

  beforeAll(async () => {
    requireTool('pg_dump', ['--version'], 'postgresql-client');
    requireTool('psql', ['--version'], 'postgresql-client');
    source = await isolatedPostgres('backup_source');
    restored = await isolatedPostgres('backup_restored');
    dir = mkdtempSync(join(tmpdir(), 'skreaver-backup-'));
  });

  afterAll(async () => {
    await source?.cleanup();
    await restored?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should bring agents, runs and API keys back intact in a fresh database', async () => {
    const live = await open(source, true);
    const agent = AgentFactory.create({ name: 'backed-up', config: { greeting: 'héllo', nested: { list: [1, 2] } } });
    const run = RunFactory.create(agent, { status: 'completed', output: { message: 'done' }, attempts: 1, started_at: at(2), finished_at: at(3) });
    const key: StoredApiKey = {
      id: newId(),
      name: 'ops',
      prefix: 'backup0001',
      role: 'admin',
      tenant_id: DEFAULT_TENANT,
      created_at: at(0),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      secret_hash: 'a'.repeat(64),
      created_by: 'backup-test',
    };
    try {
      await new AgentRepository(live).insert(agent);
      await new RunRepository(live).insert(run);
      await new ApiKeyRepository(live).insert(key);
    } finally {
      await live.destroy();
    }

    const dump = join(dir, 'skreaver.sql');
    const backup = spawnSync('pg_dump', ['--no-owner', '--no-privileges', '--file', dump, '--dbname', source.url ?? ''], { encoding: 'utf8' });
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    expect(statSync(dump).size).toBeGreaterThan(0);

    const restore = spawnSync('psql', ['--quiet', '--no-psqlrc', '-v', 'ON_ERROR_STOP=1', '--file', dump, '--dbname', restored.url ?? ''], { encoding: 'utf8' });
    expect(restore.stderr).toBe('');
    expect(restore.status).toBe(0);

    const back = await open(restored, false);
    try {
      // The migrations table came along: a service starting on the restored database has nothing to migrate.
      expect(await back.showMigrations()).toBe(false);
      expect(await new AgentRepository(back).findById(DEFAULT_TENANT, agent.id)).toEqual(agent);
      expect(await new RunRepository(back).findById(DEFAULT_TENANT, run.id)).toEqual(run);
      expect(await new ApiKeyRepository(back).findByPrefix(key.prefix)).toEqual(key);
    } finally {
      await back.destroy();
    }
  });
});
