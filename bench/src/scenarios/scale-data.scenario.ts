import { Client } from 'pg';

import { Platform, freshPostgresDatabase } from '../support/platform';
import { versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';
import { percentile } from '../support/stats';


interface TenantShape {
  id: string;
  agents: number;
  runs: number;
}

const SMALL: TenantShape = { id: 'scale-small', agents: 10, runs: 1_000 };
const BIG: TenantShape = { id: 'scale-big', agents: 100_000, runs: 1_000_000 };
const QUICK_BIG: TenantShape = { id: 'scale-big', agents: 10_000, runs: 100_000 };
const PAGE = 50;

/** SQL of a UUID (version 4 layout, as the contracts require) made of the md5 `hash` (an SQL expression of 32 hex digits). */
function uuidOf(hash: string): string {
  return `substr(${hash}, 1, 8) || '-' || substr(${hash}, 9, 4) || '-4' || substr(${hash}, 14, 3) || '-a' || substr(${hash}, 18, 3) || '-' || substr(${hash}, 21, 12)`;
}

/** SQL of the id of a tenant's agent ('a') or run ('r') number `n`: deterministic, so requests can name rows without reading them back. */
const idSql = (tenant: string, kind: 'a' | 'r', n: string) => `md5('${tenant}${kind}' || ${n})`;

// Rows spread over 30 days, ISO strings as the services store them.
const tsSql = (n: string, total: number) =>
  `to_char(timestamp '2026-11-01' + (${n}::float8 / ${total}) * interval '30 days', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * One multi-row INSERT … SELECT generate_series per table: the database builds the rows itself, so 1,000,000 runs
 * take one statement instead of a million round trips. Status mix like production's (mostly completed, some failed
 * and cancelled, a few open); every agent runs any number at once, so creating runs never waits for a slot.
 */
function seedStatements(tenant: TenantShape): string[] {
  return [
    // md5 once per row (LATERAL), not once per use.
    `INSERT INTO agents (id, tenant_id, name, kind, config, concurrency, status, created_at, updated_at)
     SELECT ${uuidOf('h.id')}, '${tenant.id}', 'agent-' || g, CASE WHEN g % 10 = 0 THEN 'tool' ELSE 'echo' END, '{"delay_ms":0}',
            '{"policy":"parallel","max_concurrency":1000}', CASE WHEN g % 50 = 0 THEN 'running' ELSE 'idle' END, h.ts, h.ts
     FROM generate_series(1, ${tenant.agents}) g, LATERAL (SELECT ${idSql(tenant.id, 'a', 'g')} AS id, ${tsSql('g', tenant.agents)} AS ts) h`,
    `INSERT INTO runs (id, tenant_id, agent_id, status, source, input, output, attempts, created_at, started_at, finished_at)
     SELECT ${uuidOf('h.id')}, '${tenant.id}', ${uuidOf('h.agent')},
            (ARRAY['completed','completed','completed','completed','completed','completed','completed','failed','cancelled','completed'])[1 + g % 10],
            'api', '{"message":"hello"}', '{"message":"hello"}', 1, h.ts, h.ts, h.ts
     FROM generate_series(1, ${tenant.runs}) g,
          LATERAL (SELECT ${idSql(tenant.id, 'r', 'g')} AS id, ${idSql(tenant.id, 'a', `(1 + g % ${tenant.agents})`)} AS agent, ${tsSql('g', tenant.runs)} AS ts) h`,
  ];
}

/** The ids and cursors of rows at `count` random positions of a tenant, read once before measuring. */
async function samples(db: Client, tenant: TenantShape, count: number): Promise<{ agents: Array<{ id: string; created_at: string }>; runs: Array<{ id: string; created_at: string }> }> {
  const pick = async (table: string, total: number) => {
    const positions = Array.from({ length: count }, () => 1 + Math.floor(Math.random() * total));
    const kind = table === 'agents' ? 'a' : 'r';
    const { rows } = await db.query<{ id: string; created_at: string }>(
      `SELECT id, created_at FROM ${table} WHERE id = ANY(SELECT ${uuidOf('h')} FROM unnest($1::int[]) p, LATERAL (SELECT ${idSql(tenant.id, kind, 'p')} AS h) x)`,
      [positions],
    );
    return rows;
  };
  return { agents: await pick('agents', tenant.agents), runs: await pick('runs', tenant.runs) };
}

const cursorOf = (row: { id: string; created_at: string }) => Buffer.from(`${row.created_at}|${row.id}`).toString('base64url');

interface Endpoint {
  name: string;
  request: (tenant: Sampled) => { method: string; path: string; body?: unknown };
  expect: number;
}

interface Sampled {
  token: string;
  agents: Array<{ id: string; created_at: string }>;
  runs: Array<{ id: string; created_at: string }>;
}

const any = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

// Every list request starts at a random position (a `cursor` from anywhere in the tenant), so deep pages are measured
// as often as first ones.
const ENDPOINTS: Endpoint[] = [
  { name: 'GET /agents page', request: (t) => ({ method: 'GET', path: `/agents?limit=${PAGE}&cursor=${cursorOf(any(t.agents))}` }), expect: 200 },
  { name: 'GET /agents?kind= page', request: (t) => ({ method: 'GET', path: `/agents?kind=tool&limit=${PAGE}&cursor=${cursorOf(any(t.agents))}` }), expect: 200 },
  { name: 'GET /runs page', request: (t) => ({ method: 'GET', path: `/runs?limit=${PAGE}&cursor=${cursorOf(any(t.runs))}` }), expect: 200 },
  { name: 'GET /runs?status=failed page', request: (t) => ({ method: 'GET', path: `/runs?status=failed&limit=${PAGE}&cursor=${cursorOf(any(t.runs))}` }), expect: 200 },
  { name: 'GET /agents/{id}/runs page', request: (t) => ({ method: 'GET', path: `/agents/${any(t.agents).id}/runs?limit=${PAGE}` }), expect: 200 },
  { name: 'GET /runs/{id}', request: (t) => ({ method: 'GET', path: `/runs/${any(t.runs).id}` }), expect: 200 },
  { name: 'POST /agents/{id}/runs (202)', request: (t) => ({ method: 'POST', path: `/agents/${any(t.agents).id}/runs`, body: { input: { message: 'hello' } } }), expect: 202 },
];

/**
 * Sends `count` requests of `endpoint` for each tenant, one at a time, alternating tenants: each latency is that
 * request's alone (no request of the other tenant queued beside it in the same process), and both tenants see the
 * same machine noise. Latencies in ms, per tenant.
 */
async function measure(api: string, endpoint: Endpoint, tenants: Sampled[], count: number): Promise<number[][]> {
  const latencies = tenants.map((): number[] => []);
  for (let i = 0; i < count; i += 1) {
    for (const [index, tenant] of tenants.entries()) {
      const { method, path, body } = endpoint.request(tenant);
      const started = performance.now();
      const response = await fetch(`${api}${path}`, {
        method,
        headers: { authorization: `Bearer ${tenant.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      (latencies[index] as number[]).push(performance.now() - started);
      if (response.status !== endpoint.expect) throw new Error(`${endpoint.name}: ${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
    }
  }
  return latencies;
}

/** The list queries as the repositories send them (same predicates, order and limit), for EXPLAIN ANALYZE on the big tenant. */
const PLANNED: Array<{ name: string; sql: string; params: (t: Sampled, tenant: string) => unknown[] }> = [
  { name: 'agents page', sql: 'SELECT * FROM agents WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 50', params: (t, tenant) => [tenant, ...position(any(t.agents))] },
  { name: 'agents?kind= page', sql: "SELECT * FROM agents WHERE tenant_id = $1 AND kind = 'tool' AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 50", params: (t, tenant) => [tenant, ...position(any(t.agents))] },
  { name: 'agents?status= page', sql: "SELECT * FROM agents WHERE tenant_id = $1 AND status = 'running' AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 50", params: (t, tenant) => [tenant, ...position(any(t.agents))] },
  { name: 'runs page', sql: 'SELECT * FROM runs WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 50', params: (t, tenant) => [tenant, ...position(any(t.runs))] },
  { name: 'runs?status=failed page', sql: "SELECT * FROM runs WHERE tenant_id = $1 AND status = 'failed' AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 50", params: (t, tenant) => [tenant, ...position(any(t.runs))] },
  { name: 'runs?status=queued page (rare status)', sql: "SELECT * FROM runs WHERE tenant_id = $1 AND status = 'queued' ORDER BY created_at DESC, id DESC LIMIT 50", params: (_t, tenant) => [tenant] },
  { name: "agent's runs page", sql: 'SELECT * FROM runs WHERE tenant_id = $1 AND agent_id = $2 ORDER BY created_at DESC, id DESC LIMIT 50', params: (t, tenant) => [tenant, any(t.agents).id] },
  { name: 'run by id', sql: 'SELECT * FROM runs WHERE tenant_id = $1 AND id = $2 LIMIT 1', params: (t, tenant) => [tenant, any(t.runs).id] },
];

const position = (row: { id: string; created_at: string }) => [row.created_at, row.id];

// The indexes of migration LargeTenantIndexes1796700000000 on runs and agents.
const NEW_INDEXES = ['idx_runs_tenant_id_status_created_at_id', 'idx_runs_tenant_id_created_at_id', 'idx_agents_tenant_id_status_created_at_id', 'idx_agents_tenant_id_kind_created_at_id'];

/** Each `PLANNED` query's plan shape and median server-side execution time over 20 random positions of the tenant. */
async function sqlTimes(db: Client, sampled: Sampled, tenant: string): Promise<Map<string, { p50: number; shape: string }>> {
  const results = new Map<string, { p50: number; shape: string }>();
  for (const query of PLANNED) {
    const times: number[] = [];
    let shape = '';
    for (let i = 0; i < 20; i += 1) {
      const { rows } = await db.query<{ 'QUERY PLAN': Array<{ Plan: Parameters<typeof nodeTypes>[0]; 'Execution Time': number }> }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}`,
        query.params(sampled, tenant),
      );
      const result = rows[0]?.['QUERY PLAN'][0];
      if (!result) throw new Error(`no plan for ${query.name}`);
      times.push(result['Execution Time']);
      shape = nodeTypes(result.Plan).join(' > ');
    }
    results.set(query.name, { p50: percentile(times, 50), shape });
  }
  return results;
}

/** Plan node types of an EXPLAIN (FORMAT JSON) plan, depth first. */
function nodeTypes(plan: { 'Node Type': string; 'Index Name'?: string; Plans?: unknown[] }): string[] {
  const here = plan['Index Name'] ? `${plan['Node Type']} ${plan['Index Name']}` : plan['Node Type'];
  return [here, ...(plan.Plans ?? []).flatMap((child) => nodeTypes(child as typeof plan))];
}

/**
 * Scenario `scale-data` (opt-in: `--only scale-data`): on PostgreSQL, a tenant with 100,000 agents and 1,000,000 runs
 * beside a 10-agent tenant, both served by one agent-api; each list page, filter, run read and run creation measured
 * for both in the same run, big p50/p99 against small.
 */
export const scaleDataScenario: Scenario = {
  id: 'scale-data',
  title: 'Large tenant on PostgreSQL: 100,000 agents and 1,000,000 runs vs a 10-agent tenant (p50/p99 per request)',
  optIn: true,
  timeoutMs: (quick) => (quick ? 300_000 : 900_000),
  async run(context: ScenarioContext) {
    const big = context.quick ? QUICK_BIG : BIG;
    const fresh = await freshPostgresDatabase();
    const url = fresh.url;
    const db = new Client({ connectionString: url });
    // agent-api alone: run creation enqueues and answers 202; no coordinator competes for the two cores.
    const platform = new Platform({
      env: { DATABASE_URL: url, DATABASE_POOL_SIZE: '10', SKREAVER_RETENTION_RUNS_DAYS: '0' },
      ...(context.profileDir ? { profileDir: `${context.profileDir}/scale-data` } : {}),
    });
    try {
      await platform.start(['agent-api']);
      await db.connect();
      const seedStarted = performance.now();
      // A bulk load: the secondary indexes go first and are built again after (one sort each instead of a million
      // random B-tree inserts each), as pg_restore does; their definitions come from the migrated schema itself.
      const { rows: indexes } = await db.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('runs', 'agents') AND indexname NOT LIKE 'pk\\_%'",
      );
      for (const index of indexes) await db.query(`DROP INDEX ${index.indexname}`);
      await db.query("SET maintenance_work_mem = '256MB'");
      for (const tenant of [SMALL, big]) for (const statement of seedStatements(tenant)) await db.query(statement);
      const insertedMs = performance.now() - seedStarted;
      for (const index of indexes) await db.query(index.indexdef);
      const seededMs = performance.now() - seedStarted;
      context.note(`seed: rows inserted in ${(insertedMs / 1000).toFixed(1)} s, ${indexes.length} secondary indexes of runs and agents rebuilt in ${((seededMs - insertedMs) / 1000).toFixed(1)} s`);
      await db.query('ANALYZE');
      const { rows: size } = await db.query<{ size: string }>(`SELECT pg_size_pretty(pg_total_relation_size('runs')) AS size`);
      context.note(
        `seeded ${big.agents.toLocaleString('en')} agents and ${big.runs.toLocaleString('en')} runs (big) plus ${SMALL.agents} agents and ${SMALL.runs} runs (small) with INSERT … SELECT generate_series in ${(seededMs / 1000).toFixed(1)} s, then ANALYZE; runs table with indexes ${size[0]?.size}`,
      );
      context.record(versus('seed time (both tenants)', 's', null, seededMs / 1000));

      const tenants: Sampled[] = [];
      for (const tenant of [SMALL, big]) {
        const key = await platform.api<{ key: string }>('POST', '/api-keys', { name: `bench-${tenant.id}`, role: 'operator', tenant_id: tenant.id });
        if (key.status !== 201) throw new Error(`POST /api-keys answered ${key.status}`);
        const token = await fetch(`${platform.service('agent-api').url}/auth/token`, { method: 'POST', headers: { 'x-api-key': key.body.key } });
        const { access_token: accessToken } = (await token.json()) as { access_token: string };
        tenants.push({ token: accessToken, ...(await samples(db, tenant, 2_000)) });
      }

      const after = await sqlTimes(db, tenants[1] as Sampled, big.id);
      context.note(`plans on the big tenant (EXPLAIN ANALYZE, 20 random positions each): ${[...after].map(([name, result]) => `${name}: ${result.shape}`).join('; ')}`);
      const seqScans = [...after].filter(([, result]) => result.shape.includes('Seq Scan'));
      if (seqScans.length) throw new Error(`sequential scans on the big tenant: ${seqScans.map(([name]) => name).join(', ')}`);

      const api = platform.service('agent-api').url;
      const count = context.quick ? 100 : 500;
      for (const endpoint of ENDPOINTS) {
        await measure(api, endpoint, tenants, Math.ceil(count / 5)); // warm-up: JIT, pool, the pages' first reads
        const [small, large] = await measure(api, endpoint, tenants, count);
        context.record(versus(`${endpoint.name} p50`, 'ms', percentile(small ?? [], 50), percentile(large ?? [], 50)));
        context.record(versus(`${endpoint.name} p99`, 'ms', percentile(small ?? [], 99), percentile(large ?? [], 99), { atMost: 1.5 }));
      }
      // The same queries without the migration's indexes (as before it): what they buy, at the SQL level.
      for (const index of NEW_INDEXES) await db.query(`DROP INDEX ${index}`);
      const before = await sqlTimes(db, tenants[1] as Sampled, big.id);
      for (const [name, result] of after) {
        context.record(versus(`SQL ${name}, big tenant: without → with the new indexes, p50`, 'ms', before.get(name)?.p50 ?? null, result.p50));
      }
      context.note(`plans without the new indexes: ${[...before].map(([name, result]) => `${name}: ${result.shape}`).join('; ')}`);
      context.note(
        `baseline = the ${SMALL.agents}-agent tenant, ours = the big tenant, same agent-api, same run, one request at a time alternating tenants, ${count} per endpoint per tenant after a warm-up; list pages of ${PAGE} start at a random cursor; PostgreSQL 15 on loopback, agent-api only (POST runs stay queued)`,
      );
    } finally {
      await platform.stop();
      await db.end().catch(() => undefined);
      await fresh.drop();
    }
  },
};
