import { DATABASE_KINDS } from '@skreaver/testing';

import { DataSource } from 'typeorm';
import { AbstractLogger } from 'typeorm';
import type { DataSourceOptions, LogLevel, LogMessage } from 'typeorm';

import { AgentRepository, AuditRepository, RunRepository, ThreadRepository } from '../src';
import { migratedDatabase } from './persistence-fixtures';

const TENANT = 'big-tenant';
const AGENTS = 5_000;
const RUNS = 60_000;
// Every 7th run is a turn of one of these threads; the rest have none (thread_id NULL), as plain runs do.
const THREADS = 200;
const THREAD = '00000000-0000-4000-b000-000000000042';
const CURSOR = { created_at: '2026-01-01T10:00:00.000Z', id: 'ffffffff-ffff-4fff-bfff-ffffffffffff' };

/** Keeps the last SELECT or DELETE a data source ran, with its parameters, so the test can ask the planner about it. */
class LastStatement extends AbstractLogger {
  private last: { sql: string; parameters: unknown[] } | undefined;

  /** The statement logged since the previous call, if any. */
  take(): { sql: string; parameters: unknown[] } | undefined {
    const last = this.last;
    this.last = undefined;
    return last;
  }

  protected writeLog(_level: LogLevel, message: LogMessage | string | number | Array<LogMessage | string | number>): void {
    for (const entry of Array.isArray(message) ? message : [message]) {
      if (typeof entry === 'object' && entry.type === 'query' && /^\s*(SELECT|DELETE)/i.test(String(entry.message))) {
        this.last = { sql: String(entry.message), parameters: entry.parameters ?? [] };
      }
    }
  }
}

// The seed, in SQL so 60,000 runs take a second: agents and runs of one big tenant spread over a day, a run status
// mix like production's (mostly completed, 1 % waiting for an input that expires an hour after), a small tenant beside
// it, and an old audit log.
const SEED: Record<(typeof DATABASE_KINDS)[number], string[]> = {
  postgres: [
    `INSERT INTO agents (id, tenant_id, name, kind, config, status, created_at, updated_at)
       SELECT '00000000-0000-4000-a000-' || lpad(g::text, 12, '0'), '${TENANT}', 'agent-' || g, CASE WHEN g % 10 = 0 THEN 'llm' ELSE 'echo' END, '{}',
              CASE WHEN g % 50 = 0 THEN 'running' ELSE 'idle' END,
              to_char(timestamp '2026-01-01' + g * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              to_char(timestamp '2026-01-01' + g * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       FROM generate_series(1, ${AGENTS}) g`,
    `INSERT INTO runs (id, tenant_id, agent_id, status, source, input, attempts, created_at, finished_at, thread_id, input_expires_at)
       SELECT '00000000-0000-4000-8000-' || lpad(g::text, 12, '0'), '${TENANT}', '00000000-0000-4000-a000-' || lpad((1 + g % ${AGENTS})::text, 12, '0'),
              CASE WHEN g % 100 = 8 THEN 'waiting_input'
                   ELSE (ARRAY['completed','completed','completed','completed','completed','completed','failed','cancelled','queued','running'])[1 + g % 10] END,
              'api', '{}', 1,
              to_char(timestamp '2026-01-01' + g * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              to_char(timestamp '2026-01-01' + (g + 1) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              CASE WHEN g % 7 = 0 THEN '00000000-0000-4000-b000-' || lpad(((g / 7) % ${THREADS})::text, 12, '0') END,
              CASE WHEN g % 100 = 8 THEN to_char(timestamp '2026-01-01' + (g + 3600) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END
       FROM generate_series(1, ${RUNS}) g`,
    `INSERT INTO audit_log (tenant_id, ts, actor, action, target, details)
       SELECT '${TENANT}', to_char(timestamp '2026-01-01' + g * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'key:x', 'agent.created', 'x', '{}'
       FROM generate_series(1, ${RUNS}) g`,
    'ANALYZE',
  ],
  sqlite: [
    `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${AGENTS})
     INSERT INTO agents (id, tenant_id, name, kind, config, status, created_at, updated_at)
       SELECT printf('00000000-0000-4000-a000-%012d', n), '${TENANT}', 'agent-' || n, CASE WHEN n % 10 = 0 THEN 'llm' ELSE 'echo' END, '{}',
              CASE WHEN n % 50 = 0 THEN 'running' ELSE 'idle' END,
              strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || n || ' seconds'), strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || n || ' seconds')
       FROM g`,
    `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${RUNS})
     INSERT INTO runs (id, tenant_id, agent_id, status, source, input, attempts, created_at, finished_at, thread_id, input_expires_at)
       SELECT printf('00000000-0000-4000-8000-%012d', n), '${TENANT}', printf('00000000-0000-4000-a000-%012d', 1 + n % ${AGENTS}),
              CASE WHEN n % 100 = 8 THEN 'waiting_input'
                   ELSE CASE n % 10 WHEN 6 THEN 'failed' WHEN 7 THEN 'cancelled' WHEN 8 THEN 'queued' WHEN 9 THEN 'running' ELSE 'completed' END END,
              'api', '{}', 1,
              strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || n || ' seconds'), strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (n + 1) || ' seconds'),
              CASE WHEN n % 7 = 0 THEN printf('00000000-0000-4000-b000-%012d', (n / 7) % ${THREADS}) END,
              CASE WHEN n % 100 = 8 THEN strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (n + 3600) || ' seconds') END
       FROM g`,
    `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${RUNS})
     INSERT INTO audit_log (tenant_id, ts, actor, action, target, details)
       SELECT '${TENANT}', strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || n || ' seconds'), 'key:x', 'agent.created', 'x', '{}' FROM g`,
    'ANALYZE',
  ],
};

/**
 * Every list and filter query of a large tenant, and the retention deletes, must be read through an index (no
 * sequential scan of `runs`, `agents` or `audit_log`, no full table read on SQLite), on a seeded table big enough that
 * the planner would choose a scan if the index were missing: dropping one of the migration's indexes fails this test.
 */
describe.each(DATABASE_KINDS)('query plans of a large tenant on %s', (kind) => {
  const lastStatement = new LastStatement(['query']);
  let logged: DataSource;
  const database = migratedDatabase(kind, 'persistence-plans', async (dataSource) => {
    for (const statement of SEED[kind]) await dataSource.query(statement);
    // The same database through a second data source that logs its statements, so the test explains exactly the SQL
    // the repositories send.
    logged = new DataSource({ ...dataSource.options, logger: lastStatement, logging: ['query'] } as DataSourceOptions);
    await logged.initialize();
  }, 120_000);

  afterAll(async () => {
    if (logged?.isInitialized) await logged.destroy();
  });

  /** The plan of the last SELECT the repositories sent, as one text (PostgreSQL JSON, or SQLite's plan lines). */
  async function planOf(call: () => Promise<unknown>): Promise<string> {
    lastStatement.take();
    await call();
    const query = lastStatement.take();
    if (!query) throw new Error('no SELECT or DELETE was sent');
    if (kind === 'postgres') {
      // A DELETE is explained too, inside a rolled back transaction, so nothing is deleted.
      const runner = database.dataSource.createQueryRunner();
      await runner.startTransaction();
      try {
        const rows = (await runner.query(`EXPLAIN (FORMAT JSON) ${query.sql}`, query.parameters)) as Array<{ 'QUERY PLAN': unknown }>;
        return JSON.stringify(rows[0]?.['QUERY PLAN']);
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
    }
    const rows = (await database.dataSource.query(`EXPLAIN QUERY PLAN ${query.sql}`, query.parameters)) as Array<{ detail: string }>;
    return rows.map((row) => row.detail).join('\n');
  }

  /** The plan reads through `index` and never a whole table. */
  function expectLookup(plan: string, index: string): void {
    expect(plan).toContain(index);
    if (kind === 'postgres') expect(plan).not.toContain('"Seq Scan"');
    else expect(plan).not.toMatch(/SCAN (run|agent|expired|RunEntity)\b(?! USING)/);
  }

  /** …and stops after one page: nothing sorted but a bounded top-N. */
  function expectIndexed(plan: string, index: string): void {
    expectLookup(plan, index);
    // A sort of the whole tenant would read every row before the first page; only a bounded top-N or none is fine.
    if (kind === 'postgres') expect(plan).not.toMatch(/"Sort Method":\s*"external/);
    else expect(plan).not.toContain('USE TEMP B-TREE FOR ORDER BY');
  }

  const runs = () => new RunRepository(logged);
  const agents = () => new AgentRepository(logged);
  const threads = () => new ThreadRepository(logged);

  it.each([
    ['the first page of runs', () => runs().list(TENANT, { limit: 50 }), 'idx_runs_tenant_id_created_at_id'],
    ['a later page of runs', () => runs().list(TENANT, { limit: 50, before: CURSOR }), 'idx_runs_tenant_id_created_at_id'],
    ['runs by status', () => runs().list(TENANT, { limit: 50, status: 'failed' }), 'idx_runs_tenant_id_status_created_at_id'],
    ['a later page of runs by status', () => runs().list(TENANT, { limit: 50, status: 'queued', before: CURSOR }), 'idx_runs_tenant_id_status_created_at_id'],
    ["an agent's runs", () => runs().listByAgent(TENANT, '00000000-0000-4000-a000-000000000042', { limit: 50, before: CURSOR }), 'idx_runs_tenant_id_agent_id_created_at'],
    ['the first page of agents', () => agents().list(TENANT, { limit: 50 }), 'idx_agents_tenant_id_created_at'],
    ['a later page of agents', () => agents().list(TENANT, { limit: 50, before: CURSOR }), 'idx_agents_tenant_id_created_at'],
    ['agents by status', () => agents().list(TENANT, { limit: 50, status: 'running', before: CURSOR }), 'idx_agents_tenant_id_status_created_at_id'],
    ['agents by kind', () => agents().list(TENANT, { limit: 50, kind: 'llm', before: CURSOR }), 'idx_agents_tenant_id_kind_created_at_id'],
    ['the expired runs of the retention sweep', () => runs().deleteFinishedBefore('2026-01-01T01:00:00.000Z', 1), 'idx_runs_status_created_at'],
    ['the expired audit entries of the retention sweep', () => new AuditRepository(logged).deleteBefore('2026-01-01T01:00:00.000Z', 1), 'idx_audit_log_ts'],
    // Partial (WHERE input_expires_at IS NOT NULL): `input_expires_at <= ?` implies it.
    ['the expired waits of the input-expiry sweep', () => runs().listInputExpired('2026-01-01T05:00:00.000Z', 100), 'idx_runs_input_expires_at'],
  ])('should read %s through its index', async (_label, call, index) => {
    expectIndexed(await planOf(call), index);
  });

  // Open runs are few, so these may sort what they find; what matters is that they find it through the index.
  it.each([
    // Partial (WHERE thread_id IS NOT NULL): `thread_id = ?` implies it, on SQLite with the value bound.
    ["a thread's open runs", () => threads().listOpenRunIds(THREAD), 'idx_runs_thread_id_status'],
    ["the count of a thread's other open runs", () => threads().countOpenRuns(THREAD, '00000000-0000-4000-8000-000000000294'), 'idx_runs_thread_id_status'],
    // The reconciler's open runs, through the full (status, created_at) index the retention sweep shares.
    ['the open runs of the reconciler', () => runs().listOpenCreatedBefore('2026-01-01T10:00:00.000Z', 100), 'idx_runs_status_created_at'],
  ])('should find %s through its index', async (_label, call, index) => {
    expectLookup(await planOf(call), index);
  });
});
