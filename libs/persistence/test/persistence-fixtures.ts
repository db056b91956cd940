import { Agent, DEFAULT_TENANT, JsonValue, Run, RunEventV1, runEventId } from '@skreaver/contracts';
import { IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { DataSource } from 'typeorm';

import { createDataSource, PersistenceOptions } from '../src';

/** Options pointing at an isolated test database. */
export function optionsFor(db: IsolatedDatabase, overrides: Partial<PersistenceOptions> = {}): PersistenceOptions {
  return { databaseUrl: db.url, dataDir: db.dataDir, poolSize: 4, runMigrations: true, ...overrides };
}

/** An initialized data source with every migration applied. */
export async function openMigratedDataSource(db: IsolatedDatabase): Promise<DataSource> {
  const dataSource = createDataSource(optionsFor(db));
  await dataSource.initialize();
  await dataSource.runMigrations();
  return dataSource;
}

/** A describe block's migrated database: `db` and `dataSource` are set once its `beforeAll` has run. */
export interface MigratedDatabase {
  readonly db: IsolatedDatabase;
  readonly dataSource: DataSource;
}

/**
 * Registers the describe block's `beforeAll` (a fresh database of `kind`, migrated, then `setUp` with its data source)
 * and `afterAll` (destroy and drop it), so each spec states only what it builds on the database.
 */
export function migratedDatabase(
  kind: 'sqlite' | 'postgres',
  label: string,
  setUp: (dataSource: DataSource) => unknown = () => undefined,
  setUpTimeoutMs?: number,
): MigratedDatabase {
  let db: IsolatedDatabase | undefined;
  let dataSource: DataSource | undefined;
  beforeAll(async () => {
    db = await isolatedDatabase(kind, label);
    dataSource = await openMigratedDataSource(db);
    await setUp(dataSource);
  }, setUpTimeoutMs);
  afterAll(async () => {
    // A test may have destroyed it on purpose (health checks of a closed data source).
    if (dataSource?.isInitialized) await dataSource.destroy();
    await db?.cleanup();
  });
  return {
    get db() {
      if (!db) throw new Error('the database is set up in beforeAll');
      return db;
    },
    get dataSource() {
      if (!dataSource) throw new Error('the data source is set up in beforeAll');
      return dataSource;
    },
  };
}

/** `2026-01-01T00:00:00.000Z` plus `seconds`, so tests control ordering by time. */
export function at(seconds: number): string {
  return new Date(Date.UTC(2026, 0, 1) + seconds * 1000).toISOString();
}

export const AgentFactory = {
  create(overrides: Partial<Agent> = {}): Agent {
    return {
      id: newId(),
      tenant_id: DEFAULT_TENANT,
      name: 'echo-bot',
      kind: 'echo',
      config: { greeting: 'hi' },
      concurrency: { policy: 'enqueue', max_concurrency: 1 },
      status: 'idle',
      created_at: at(0),
      updated_at: at(0),
      last_activity: null,
      ...overrides,
    };
  },
};

export const RunFactory = {
  create(agent: Agent, overrides: Partial<Run> = {}): Run {
    return {
      id: newId(),
      tenant_id: agent.tenant_id,
      agent_id: agent.id,
      status: 'queued',
      source: 'api',
      input: { text: 'hello' },
      output: null,
      error: null,
      attempts: 0,
      pending_inputs: [],
      idempotency_key: null,
      usage: null,
      thread_id: null,
      created_at: at(1),
      started_at: null,
      finished_at: null,
      ...overrides,
    };
  },
};

export const RunEventFactory = {
  /** A run's log of `count` events: queued, started, then completed as the last one. */
  createLog(run: Run, count: number): RunEventV1[] {
    return Array.from({ length: count }, (_, index) => {
      const seq = index + 1;
      const base = {
        id: runEventId(run.id, seq),
        run_id: run.id,
        agent_id: run.agent_id,
        tenant_id: run.tenant_id,
        seq,
        ts: at(seq),
      };
      if (seq === 1) return { ...base, type: 'run.queued', data: { input: run.input } };
      if (seq === count) return { ...base, type: 'run.completed', data: { output: { seq }, duration_ms: 12.5 } };
      return { ...base, type: 'run.started', data: { attempt: seq - 1, worker: 'worker-1' } };
    });
  },
};

/** A nested JSON value touching every JSON type, for round-trip checks. */
export const NESTED_JSON: JsonValue = {
  text: 'héllo "quoted" \\ back\nslash',
  int: 42,
  float: -3.25,
  big: 9007199254740991,
  yes: true,
  no: false,
  nothing: null,
  list: [1, 'two', { three: [3, null, false] }, []],
  empty: {},
};
