import { gauge, histogram } from '@skreaver/observability';
import type { AfterQueryEvent, BeforeQueryEvent, DataSource, EntitySubscriberInterface, QueryRunner } from 'typeorm';

// The parts of a pg.Pool (TypeORM's PostgresDriver#master) the gauges read.
interface PgPoolCounts {
  totalCount: number;
  idleCount: number;
  options: { max?: number };
}

// The part of a better-sqlite3 Database (TypeORM's driver#databaseConnection) the gauges read.
interface SqliteConnection {
  inTransaction: boolean;
}

/** A data source's pool as the gauges see it; null when it cannot be read (closed, or another driver). */
interface PoolSample {
  active: number;
  max: number;
}

// Data sources reporting in this process; the gauges sum them (integration tests run several apps in one process).
const tracked = new Set<DataSource>();

const queryDuration = histogram({
  name: 'skreaver_db_query_duration_seconds',
  help: 'SQL statement latency in seconds, by statement kind (select, insert, update, delete, transaction, other)',
  labelNames: ['operation'],
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

// Gauges are computed when Prometheus scrapes, from the pools' own counters: nothing to keep in step, and a
// collect() never throws (a metric that cannot be read is left out rather than failing the whole scrape).
gauge({
  name: 'skreaver_db_connections_active',
  help: 'Database connections in use: PostgreSQL pool connections not idle; SQLite 1 while a transaction holds its connection',
  collect() {
    this.set(sum((sample) => sample.active));
  },
});
gauge({
  name: 'skreaver_db_connections_max',
  help: 'Database connections the pool may open (DATABASE_POOL_SIZE on PostgreSQL; 1 for SQLite)',
  collect() {
    this.set(sum((sample) => sample.max));
  },
});

/**
 * Times every SQL statement TypeORM sends, through its query events: every repository, every service, without
 * touching call sites. The start time is kept per query runner (each runs one statement at a time); better-sqlite3
 * sends no event after a failed statement, so a slot is overwritten by the runner's next statement, never leaked.
 */
class QueryTimingSubscriber implements EntitySubscriberInterface<unknown> {
  private readonly started = new WeakMap<QueryRunner, number>();

  beforeQuery(event: BeforeQueryEvent<unknown>): void {
    this.started.set(event.queryRunner, performance.now());
  }

  afterQuery(event: AfterQueryEvent<unknown>): void {
    const started = this.started.get(event.queryRunner);
    if (started === undefined) return;
    this.started.delete(event.queryRunner);
    queryDuration.observe({ operation: statementKind(event.query) }, (performance.now() - started) / 1000);
  }
}

/**
 * Reports `dataSource` in `skreaver_db_connections_active` / `_max` and times its statements in
 * `skreaver_db_query_duration_seconds` until `untrackDatabaseMetrics`. Call once it is initialized.
 */
export function trackDatabaseMetrics(dataSource: DataSource): void {
  if (tracked.has(dataSource)) return;
  tracked.add(dataSource);
  dataSource.subscribers.push(new QueryTimingSubscriber());
}

/** Stops reporting `dataSource` (it is being closed). */
export function untrackDatabaseMetrics(dataSource: DataSource): void {
  tracked.delete(dataSource);
}

/** `SELECT …` → `select`; BEGIN/COMMIT/ROLLBACK/SAVEPOINT → `transaction`; anything else `other`. Keeps labels few. */
export function statementKind(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '';
  if (verb === 'select' || verb === 'insert' || verb === 'update' || verb === 'delete') return verb;
  if (verb === 'with') return 'select';
  if (['start', 'begin', 'commit', 'rollback', 'savepoint', 'release'].includes(verb)) return 'transaction';
  return 'other';
}

function sum(pick: (sample: PoolSample) => number): number {
  let total = 0;
  for (const dataSource of tracked) {
    const sample = samplePool(dataSource);
    if (sample) total += pick(sample);
  }
  return total;
}

function samplePool(dataSource: DataSource): PoolSample | null {
  try {
    if (!dataSource.isInitialized) return null;
    if (dataSource.options.type === 'postgres') {
      const pool: unknown = Reflect.get(dataSource.driver, 'master');
      if (!isPgPool(pool)) return null;
      return { active: Math.max(0, pool.totalCount - pool.idleCount), max: pool.options.max ?? 10 };
    }
    const connection: unknown = Reflect.get(dataSource.driver, 'databaseConnection');
    // One connection, used synchronously: a statement never runs while a scrape does, but a transaction holds it
    // across awaits, and that is when it is "in use" for anyone else.
    return { active: isSqliteConnection(connection) && connection.inTransaction ? 1 : 0, max: 1 };
  } catch {
    return null;
  }
}

function isPgPool(value: unknown): value is PgPoolCounts {
  if (typeof value !== 'object' || value === null) return false;
  const pool = value as Partial<Record<keyof PgPoolCounts, unknown>>;
  return typeof pool.totalCount === 'number' && typeof pool.idleCount === 'number' && typeof pool.options === 'object' && pool.options !== null;
}

function isSqliteConnection(value: unknown): value is SqliteConnection {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Record<'inTransaction', unknown>>).inTransaction === 'boolean';
}
