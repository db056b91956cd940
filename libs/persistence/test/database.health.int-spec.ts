import { DATABASE_KINDS, TEST_POSTGRES_URL, waitFor } from '@skreaver/testing';

import { Client } from 'pg';

import { AgentRepository, createDataSource, DatabaseHealth, isDatabaseUnavailable } from '../src';
import { AgentFactory, migratedDatabase } from './persistence-fixtures';

async function errorOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe.each(DATABASE_KINDS)('DatabaseHealth on %s', (kind) => {
  let sut: DatabaseHealth;
  const database = migratedDatabase(kind, 'persistence-health', (dataSource) => {
    sut = new DatabaseHealth(dataSource);
  });

  it('should report the latency of SELECT 1', async () => {
    const { latency_ms } = await sut.check();
    expect(latency_ms).toBeGreaterThanOrEqual(0);
    expect(latency_ms).toBeLessThan(1_000);
  });

  it('should not classify a constraint violation as the database being unavailable', async () => {
    const agents = new AgentRepository(database.dataSource);
    const agent = await agents.insert(AgentFactory.create());
    expect(isDatabaseUnavailable(await errorOf(() => agents.insert(agent)))).toBe(false);
  });

  if (kind === 'postgres') {
    it('should classify a connection killed mid-query as unavailable, and recover afterwards', async () => {
      const victim = database.dataSource.createQueryRunner();
      await victim.connect();
      const [{ pid }] = (await victim.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
      const sleeping = errorOf(() => victim.query('SELECT pg_sleep(5)'));
      await new Promise((resolve) => setTimeout(resolve, 50));

      await database.dataSource.query('SELECT pg_terminate_backend($1)', [pid]);

      expect(isDatabaseUnavailable(await sleeping)).toBe(true);
      await victim.release();
      // The pool may hand out the dead connection once more before it notices; after that, checks pass again.
      await expect(waitFor(() => sut.check(), { timeoutMs: 3_000, what: 'a healthy check' })).resolves.toEqual({
        latency_ms: expect.any(Number),
      });
    });

    it('should classify a database closed to connections as unavailable, and recover when it reopens', async () => {
      const name = new URL(database.db.url ?? '').pathname.slice(1);
      const admin = new Client({ connectionString: TEST_POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);

        const agents = new AgentRepository(database.dataSource);
        // The first call may still meet a pooled connection that was just killed; both ways it is an outage.
        for (let attempt = 0; attempt < 2; attempt += 1) {
          expect(isDatabaseUnavailable(await errorOf(() => agents.insert(AgentFactory.create())))).toBe(true);
        }
        await expect(sut.check()).rejects.toThrow();
      } finally {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
        await admin.end();
      }
      await expect(waitFor(() => sut.check(), { timeoutMs: 3_000, what: 'a healthy check' })).resolves.toEqual({
        latency_ms: expect.any(Number),
      });
    });

    it('should classify a refused connection as unavailable', async () => {
      const unreachable = createDataSource({
        databaseUrl: 'postgres://postgres:secret@127.0.0.1:1/skreaver',
        dataDir: database.db.dataDir,
        poolSize: 1,
        runMigrations: false,
      });
      expect(isDatabaseUnavailable(await errorOf(() => unreachable.initialize()))).toBe(true);
    });
  }

  it('should throw, as unavailable, once the data source is destroyed', async () => {
    const agents = new AgentRepository(database.dataSource);
    await database.dataSource.destroy();

    await expect(sut.check()).rejects.toThrow();
    expect(isDatabaseUnavailable(await errorOf(() => agents.findById('default', AgentFactory.create().id)))).toBe(true);
  });
});
