import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { DataSource, DataSourceOptions } from 'typeorm';

import { AgentEntity } from './entities/agent.entity';
import { AgentMemoryEntity } from './entities/agent-memory.entity';
import { ApiKeyEntity } from './entities/api-key.entity';
import { AuditLogEntity } from './entities/audit-log.entity';
import { RunEventEntity } from './entities/run-event.entity';
import { RunEntity } from './entities/run.entity';
import { RunStepEntity } from './entities/run-step.entity';
import { ThreadCheckpointEntity } from './entities/thread-checkpoint.entity';
import { ThreadEntity } from './entities/thread.entity';
import { MIGRATIONS } from './migrations/migration-list';
import { SqliteSharedMemory, SqliteWalCheckpointer } from './sqlite-wal-checkpointer';

/** How a service reaches its database; `databaseUrl` unset means the SQLite file under `dataDir`. */
export interface PersistenceOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  runMigrations: boolean;
  /**
   * SQLite only: how often a worker thread looks at the WAL to checkpoint it (default 100 ms); 0 leaves checkpoints to
   * SQLite, inside whichever commit crosses 1,000 WAL pages, on the event loop.
   */
  sqliteCheckpointIntervalMs?: number;
  /** SQLite only: WAL pages from which the worker checkpoints (default 1,000, SQLite's own threshold); for tests. */
  sqliteCheckpointPages?: number;
  /** SQLite only: WAL content above which the worker adds a RESTART checkpoint, which holds writers off (default 64 MiB). */
  sqliteWalLimitBytes?: number;
}

/** Which database a set of options selects, resolved without touching the file system or network. */
export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export const SQLITE_FILE_NAME = 'skreaver.sqlite';

// agent-api and mesh-coordinator write the same file; a writer waits this long for the other's lock
// before SQLITE_BUSY, which covers any single statement we issue. TypeORM's statements wait in SQLite's busy handler
// (sleeping on the event loop); HotSql's group commits, the run path's writes, wait from a timer instead (hot-sql.ts).
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

const SQLITE_CHECKPOINT_INTERVAL_MS = 100;
const SQLITE_WAL_LIMIT_BYTES = 64 * 1024 * 1024;
// A RESTART checkpoint holds the write lock while it waits for readers: a reader's transaction is well under this,
// and a writer blocked meanwhile (busy_timeout) waits at most this long on our account.
const SQLITE_RESTART_BUSY_TIMEOUT_MS = 200;
// SQLite's own autocheckpoint threshold: the worker checkpoints as often, and it is restored when the worker dies so
// the WAL cannot grow without limit.
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;

// Without it a PostgreSQL that is down would hold a service's boot until the OS TCP timeout.
const POSTGRES_CONNECT_TIMEOUT_MS = 5_000;

// The slice of a better-sqlite3 Database we touch (the package ships no type declarations here).
interface SqlitePragmaTarget {
  pragma(source: string): unknown;
}

/**
 * A SQLite data source: counted in `SqliteSharedMemory` while its connection is open (so no descriptor of the file's
 * `-shm` gets closed under its locks), and, with `checkpoint` set, its WAL checkpointed by a `SqliteWalCheckpointer`
 * from `initialize()` to `destroy()` instead of by SQLite inside our commits.
 */
class SqliteDataSource extends DataSource {
  private checkpointer: SqliteWalCheckpointer | undefined;
  private retained = false;

  constructor(
    options: DataSourceOptions,
    private readonly file: string,
    private readonly checkpoint: { intervalMs: number; checkpointFrames: number; walLimitBytes: number } | undefined,
  ) {
    super(options);
  }

  /** The running checkpointer (between `initialize()` and `destroy()`). */
  get walCheckpointer(): SqliteWalCheckpointer | undefined {
    return this.checkpointer;
  }

  override async initialize(): Promise<this> {
    SqliteSharedMemory.retain(this.file);
    this.retained = true;
    try {
      await super.initialize();
    } catch (error) {
      // TypeORM destroys what it opened before it throws (and our destroy() then released the file already).
      if (!this.isInitialized) this.release();
      throw error;
    }
    if (!this.checkpoint) return this;
    // A read in WAL mode makes SQLite create the -shm, whose descriptor the checkpointer reads the WAL's size from.
    this.connection().pragma('schema_version');
    this.checkpointer = SqliteWalCheckpointer.start(
      this.file,
      { ...this.checkpoint, busyTimeoutMs: SQLITE_RESTART_BUSY_TIMEOUT_MS },
      () => this.restoreAutocheckpoint(),
    );
    if (!this.checkpointer) this.restoreAutocheckpoint();
    return this;
  }

  override async destroy(): Promise<void> {
    const checkpointer = this.checkpointer;
    this.checkpointer = undefined;
    // Stopped first: the last connection to close checkpoints and removes the WAL, and that should be ours.
    await checkpointer?.stop();
    await super.destroy();
    // Only now, with the worker's connection and ours closed, may the -shm descriptor be closed.
    this.release();
  }

  private release(): void {
    if (!this.retained) return;
    this.retained = false;
    SqliteSharedMemory.release(this.file);
  }

  private restoreAutocheckpoint(): void {
    // Checkpoints back in our commits are slower at the tail but keep the WAL bounded.
    if (this.isInitialized) this.connection().pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }

  private connection(): SqlitePragmaTarget {
    return (this.driver as unknown as { databaseConnection: SqlitePragmaTarget }).databaseConnection;
  }
}

/** The WAL checkpointer of a data source from `createDataSource` (SQLite with checkpoints on, initialized), or undefined. */
export function sqliteWalCheckpointer(dataSource: DataSource): SqliteWalCheckpointer | undefined {
  return dataSource instanceof SqliteDataSource ? dataSource.walCheckpointer : undefined;
}

/** Resolves the options to a SQLite file or a PostgreSQL URL; throws on any other URL scheme. */
export function resolveDatabaseTarget(options: Pick<PersistenceOptions, 'databaseUrl' | 'dataDir'>): DatabaseTarget {
  const url = options.databaseUrl?.trim();
  if (!url) return { kind: 'sqlite', file: resolve(options.dataDir, SQLITE_FILE_NAME) };
  if (/^sqlite:/i.test(url)) {
    // `sqlite:/abs.db`, `sqlite:./rel.db` and the URL-ish `sqlite:///abs.db` all name a path.
    const path = url.replace(/^sqlite:(\/\/(?=\/))?/i, '');
    if (!path) throw new Error('DATABASE_URL "sqlite:" must name a file, e.g. sqlite:./data/skreaver.sqlite');
    return { kind: 'sqlite', file: resolve(path) };
  }
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  const scheme = url.split(':')[0];
  throw new Error(`unsupported DATABASE_URL scheme "${scheme}:" (use postgres://, postgresql:// or sqlite:)`);
}

/** Names the database for logs: the SQLite path, or the PostgreSQL URL without its password. */
export function describeDatabase(options: Pick<PersistenceOptions, 'databaseUrl' | 'dataDir'>): {
  kind: 'sqlite' | 'postgres';
  target: string;
} {
  const target = resolveDatabaseTarget(options);
  if (target.kind === 'sqlite') return { kind: 'sqlite', target: target.file };
  return { kind: 'postgres', target: redactPostgresUrl(target.url) };
}

function redactPostgresUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The raw string may hold a password we cannot locate, so none of it is echoed.
    return 'postgres://<unparseable url>';
  }
  url.password = '';
  // libpq-style `?password=` is honoured by pg as well, so it is a secret too.
  if (url.searchParams.has('password')) url.searchParams.delete('password');
  return url.toString();
}

/**
 * Builds the (not yet initialized) TypeORM data source for `options`: SQLite in WAL mode by default,
 * PostgreSQL with a pool of `poolSize` for `postgres://` URLs. Never synchronizes; schema comes from `MIGRATIONS`.
 */
export function createDataSource(options: PersistenceOptions): DataSource {
  const target = resolveDatabaseTarget(options);
  const common = {
    entities: [AgentEntity, RunEntity, RunEventEntity, ApiKeyEntity, AuditLogEntity, AgentMemoryEntity, RunStepEntity, ThreadEntity, ThreadCheckpointEntity],
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'all' as const,
    synchronize: false,
    migrationsRun: false,
    logging: false,
  };

  if (target.kind === 'postgres') {
    return new DataSource({
      ...common,
      type: 'postgres',
      url: target.url,
      poolSize: options.poolSize,
      connectTimeoutMS: POSTGRES_CONNECT_TIMEOUT_MS,
      applicationName: 'skreaver',
    });
  }

  mkdirSync(options.databaseUrl ? dirname(target.file) : options.dataDir, { recursive: true });
  const checkpointIntervalMs = options.sqliteCheckpointIntervalMs ?? SQLITE_CHECKPOINT_INTERVAL_MS;
  const sqliteOptions: DataSourceOptions = {
    ...common,
    type: 'better-sqlite3',
    database: target.file,
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    enableWAL: true,
    prepareDatabase: (db: SqlitePragmaTarget) => {
      db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      db.pragma('foreign_keys = ON');
      // WAL with synchronous=NORMAL: a commit no longer waits for an fsync (2.2 ms per commit on the bench machine,
      // blocking the event loop, with ~7 commits per run), yet the database cannot be corrupted and a killed process
      // loses nothing; only an OS crash or power loss may roll back the last commits. See bench/README.md.
      db.pragma('synchronous = NORMAL');
      // The checkpointer's worker copies the WAL back instead (see SqliteWalCheckpointer for why).
      if (checkpointIntervalMs > 0) db.pragma('wal_autocheckpoint = 0');
    },
  };
  return new SqliteDataSource(
    sqliteOptions,
    target.file,
    checkpointIntervalMs === 0
      ? undefined
      : {
          intervalMs: checkpointIntervalMs,
          checkpointFrames: options.sqliteCheckpointPages ?? SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES,
          walLimitBytes: options.sqliteWalLimitBytes ?? SQLITE_WAL_LIMIT_BYTES,
        },
  );
}
