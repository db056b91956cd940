import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { isolatedPostgres } from '@skreaver/testing';
import type { IsolatedDatabase } from '@skreaver/testing';
import { Client } from 'pg';

const run = promisify(execFile);
const AGENT_API = join(__dirname, '..', '..', '..', 'services', 'agent-api', 'dist', 'main.js');

// The Helm pre-upgrade Job runs `agent-api --migrate-only`: it must migrate a fresh database and exit 0, and
// apply nothing the second time.
describe('agent-api --migrate-only', () => {
  let database: IsolatedDatabase;

  beforeAll(async () => {
    database = await isolatedPostgres('migrate_only');
  });

  afterAll(async () => {
    await database?.cleanup();
  });

  const migrateOnly = () =>
    run(process.execPath, [AGENT_API, '--migrate-only'], {
      env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: database.url ?? '', LOG_LEVEL: 'info' },
    });

  it('should apply every migration, exit 0, and apply nothing the second time', async () => {
    const first = await migrateOnly();
    expect(first.stdout).toContain('Migrations applied');
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
      expect(rows.length).toBeGreaterThan(0);
      expect(first.stdout).toContain(rows[rows.length - 1]?.name);
    } finally {
      await client.end();
    }
    const second = await migrateOnly();
    expect(second.stdout).toMatch(/"applied":\[\]/);
  }, 60_000);
});
