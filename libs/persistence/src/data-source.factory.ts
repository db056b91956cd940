import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { DataSource } from 'typeorm';

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

/** How a service reaches its database; `databaseUrl` unset means the SQLite file under `dataDir`. */
export interface PersistenceOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  runMigrations: boolean;
}

/** Which database a set of options selects, resolved without touching the file system or network. */
export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export const SQLITE_FILE_NAME = 'skreaver.sqlite';

// agent-api and mesh-coordinator write the same file; a writer waits this long for the other's lock
// before SQLITE_BUSY, which covers any single statement we issue. TypeORM's statements wait in SQLite's busy handler
// (sleeping on the event loop); HotSql's group commits, the run path's writes, wait from a timer instead (hot-sql.ts).
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

// Without it a PostgreSQL that is down would hold a service's boot until the OS TCP timeout.
const POSTGRES_CONNECT_TIMEOUT_MS = 5_000;

// The slice of a better-sqlite3 Database we touch (the package ships no type declarations here).
interface SqlitePragmaTarget {
  pragma(source: string): unknown;
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
  return new DataSource({
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
    },
  });
}
