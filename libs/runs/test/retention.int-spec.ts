import { Streams, streamKey } from '@skreaver/contracts';
import type { Agent, Run } from '@skreaver/contracts';
import { StreamProducer } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { AgentRepository, AuditRepository, RunEventArchive, RunRepository, createDataSource } from '@skreaver/persistence';
import { DATABASE_KINDS, agentFixture, isolatedDatabase, isolatedRedis, runFixture } from '@skreaver/testing';
import type { IsolatedDatabase, IsolatedRedis } from '@skreaver/testing';
import { newId } from '@skreaver/util';
import Redis from 'ioredis';
import type { DataSource } from 'typeorm';

import { RetentionService } from '../src';
import type { RetentionConfig } from '../src';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const daysAgo = (days: number) => new Date(NOW - days * DAY_MS).toISOString();

const CONFIG: RetentionConfig = {
  WORKER_ID: 'retention-test',
  SKREAVER_RETENTION_RUNS_DAYS: 30,
  SKREAVER_RETENTION_AUDIT_DAYS: 365,
  SKREAVER_RETENTION_DEAD_LETTERS_DAYS: 14,
  SKREAVER_RETENTION_SWEEP_INTERVAL_MS: 60_000,
  // Small batches, so a sweep takes several of them.
  SKREAVER_RETENTION_BATCH_SIZE: 2,
};

// The retention sweep against a real database and Redis: per kind, what outlived its retention goes (in batches,
// with a run's archived events), what is younger or still open stays, `0` keeps a kind forever, and only one
// process of many sweeps per interval.
describe.each(DATABASE_KINDS)('RetentionService on %s', (kind) => {
  let db: IsolatedDatabase;
  let isolation: IsolatedRedis;
  let dataSource: DataSource;
  let redis: Redis;
  let runs: RunRepository;
  let audit: AuditRepository;
  let archive: RunEventArchive;
  let agent: Agent;
  const logger = new JsonLogger('skreaver_runs', 'error', () => undefined);
  const deadLetters = () => streamKey(Streams.deadLetters, isolation.prefix);

  function service(config: Partial<RetentionConfig> = {}): RetentionService {
    return new RetentionService(runs, audit, new StreamProducer(redis, isolation.prefix), logger, redis, { url: isolation.url, keyPrefix: isolation.prefix, connectionName: 'retention-test' }, { ...CONFIG, ...config });
  }

  beforeAll(async () => {
    db = await isolatedDatabase(kind, 'runs-retention');
    isolation = isolatedRedis('runs-retention');
    redis = new Redis(isolation.url);
    dataSource = createDataSource({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2, runMigrations: true });
    await dataSource.initialize();
    await dataSource.runMigrations();
    runs = new RunRepository(dataSource);
    audit = new AuditRepository(dataSource);
    archive = new RunEventArchive(dataSource);
    agent = await new AgentRepository(dataSource).insert(agentFixture({ id: newId(), created_at: daysAgo(400) }));
  });

  beforeEach(async () => {
    // Each test sweeps alone: no turn left over from the previous one.
    await redis.del(`${isolation.prefix}:runs:retention-turn`, deadLetters());
  });

  afterAll(async () => {
    redis.disconnect();
    if (dataSource?.isInitialized) await dataSource.destroy();
    await db?.cleanup();
    await isolation.cleanup();
  });

  const finishedRun = (status: Run['status'], finishedDaysAgo: number, createdDaysAgo = finishedDaysAgo) =>
    runs.insert(runFixture({ id: newId(), tenant_id: agent.tenant_id, agent_id: agent.id, status, created_at: daysAgo(createdDaysAgo), started_at: daysAgo(createdDaysAgo), finished_at: daysAgo(finishedDaysAgo) }));

  const auditEntry = (ageDays: number) =>
    audit.append({ tenant_id: agent.tenant_id, ts: daysAgo(ageDays), actor: 'key:abcdefghij', action: 'agent.deleted', target: agent.id, details: {}, request_id: null });

  const deadLetter = (ageDays: number, seq: number) => redis.xadd(deadLetters(), `${NOW - ageDays * DAY_MS}-${seq}`, 'data', '{}');

  it('should delete per kind what outlived its retention, in batches, and keep the young and the open', async () => {
    const oldRuns = [await finishedRun('completed', 31), await finishedRun('failed', 45), await finishedRun('cancelled', 90), await finishedRun('completed', 200)];
    await archive.append([{ id: `${oldRuns[0]?.id}:1`, run_id: oldRuns[0]?.id ?? '', agent_id: agent.id, tenant_id: agent.tenant_id, seq: 1, ts: daysAgo(31), type: 'run.queued', data: { input: {} } }]);
    // Created long ago but finished yesterday: its retention counts from the end.
    const longRunning = await finishedRun('completed', 1, 60);
    const young = await finishedRun('completed', 29);
    const open = await runs.insert(runFixture({ id: newId(), tenant_id: agent.tenant_id, agent_id: agent.id, status: 'waiting_input', created_at: daysAgo(100) }));
    const oldEntries = [await auditEntry(366), await auditEntry(400), await auditEntry(380)];
    const youngEntry = await auditEntry(364);
    // Stream ids only grow: oldest first.
    for (const [seq, age] of [30, 20, 15].entries()) await deadLetter(age, seq);
    await deadLetter(13, 0);

    const report = await service().pass(NOW);

    expect(report).toEqual({ runs: 4, audit: 3, dead_letters: 3 });
    for (const run of oldRuns) await expect(runs.findByIdAnyTenant(run.id)).resolves.toBeNull();
    await expect(archive.list(agent.tenant_id, oldRuns[0]?.id ?? '', { limit: 10 })).resolves.toEqual([]);
    for (const kept of [longRunning, young, open]) await expect(runs.findByIdAnyTenant(kept.id)).resolves.toEqual(kept);
    const left = await audit.list(agent.tenant_id, { limit: 100 });
    expect(left.map((entry) => entry.id)).toEqual([youngEntry.id]);
    expect(oldEntries).toHaveLength(3);
    expect((await redis.xrange(deadLetters(), '-', '+')).map(([id]) => id)).toEqual([`${NOW - 13 * DAY_MS}-0`]);
  });

  it('should keep a kind forever when its retention is 0', async () => {
    const ancient = await finishedRun('completed', 3_000);
    const entry = await auditEntry(3_000);
    await deadLetter(3_000, 0);

    await expect(service({ SKREAVER_RETENTION_RUNS_DAYS: 0, SKREAVER_RETENTION_AUDIT_DAYS: 0, SKREAVER_RETENTION_DEAD_LETTERS_DAYS: 0 }).pass(NOW)).resolves.toEqual({
      runs: 0,
      audit: 0,
      dead_letters: 0,
    });

    await expect(runs.findByIdAnyTenant(ancient.id)).resolves.toEqual(ancient);
    expect((await audit.list(agent.tenant_id, { limit: 100 })).map((kept) => kept.id)).toContain(entry.id);
    expect(await redis.xlen(deadLetters())).toBeGreaterThan(0);
  });

  it('should let one process sweep per interval', async () => {
    await expect(service().pass(NOW)).resolves.not.toBeNull();
    await expect(service({ WORKER_ID: 'another-process' }).pass(NOW)).resolves.toBeNull();
  });
});
