import type { DataSource } from 'typeorm';

import { isDatabaseUnavailable } from './database-errors';

/** One statement of a `HotSql.transaction`: SQL with `$1…$n` placeholders and its parameters. */
export interface HotStatement {
  sql: string;
  params: readonly unknown[];
}

// The slice of a better-sqlite3 Database and Statement we use (the package ships no type declarations here).
interface SqliteStatement {
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
  raw(toggle: boolean): SqliteStatement;
  columns(): { name: string }[];
}
interface SqliteDatabase {
  readonly inTransaction: boolean;
  prepare(sql: string): SqliteStatement;
  pragma(source: string, options: { simple: true }): unknown;
  transaction<A extends unknown[]>(fn: (...args: A) => void): { (...args: A): void; immediate(...args: A): void };
}
interface SqliteDriver {
  databaseConnection?: SqliteDatabase;
}

/** What TypeORM's query runners answer with `useStructuredResult`. */
interface StructuredResult {
  records?: unknown[];
  affected?: number;
}

// While the other process holds the write lock, a group commit tries again this often (the lock is held for one
// commit: a fraction of a millisecond, more when that commit starts the WAL over and syncs its header)…
const BUSY_RETRY_MS = 1;
// …and gives up after as long as SQLite's busy timeout would have waited (data-source.factory.ts) when it cannot read it.
const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Writes waiting for the next group commit: each is one caller's statements, atomic among themselves. */
interface PendingWrite {
  statements: readonly HotStatement[];
  resolve: (changed: number[]) => void;
  reject: (error: unknown) => void;
}

/** A read waiting for the next group read. */
interface PendingRead {
  sql: string;
  params: readonly unknown[];
  resolve: (rows: unknown[]) => void;
  reject: (error: unknown) => void;
}

/**
 * SQLite commits cost ~0.2–0.3 ms each on the bench machine (WAL frames and the wal-index, blocking the event loop),
 * more than the statements themselves, and a run made several. Writes made in the same turn of the event loop (the
 * runs a coordinator executes at once) are committed together: one native transaction per turn, every caller resolved
 * only after the commit, so what a caller was told is stored is stored exactly as before. When the shared transaction
 * fails (one caller's constraint), each write is retried in a transaction of its own, so one caller's error is never
 * another's. One per connection: every repository on the data source shares it.
 */
class SqliteGroupCommit {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private pendingReads: PendingRead[] = [];
  private readTransaction: { on: SqliteDatabase; run: (reads: PendingRead[], results: (() => void)[]) => void } | undefined;
  private prepared = new Map<string, SqliteStatement>();
  private readonly readColumns = new WeakMap<SqliteStatement, readonly string[]>();
  private preparedOn: SqliteDatabase | undefined;
  private busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS;
  private busySince: number | undefined;

  constructor(private readonly dataSource: DataSource) {}

  write(statements: readonly HotStatement[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ statements, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  /**
   * Reads made in the same microtask run (concurrent requests and runs whose replies arrived together) share one read
   * transaction: every WAL read transaction takes and drops a lock with two `fcntl` calls, and starts with the page
   * cache thrown away when the other process has committed since, so one per read cost two system calls and pages
   * read again. Read at the end of the current microtasks, not a turn later: no read waits for I/O.
   */
  rows(sql: string, params: readonly unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.pendingReads.push({ sql, params, resolve, reject });
      if (this.pendingReads.length === 1) queueMicrotask(() => this.read());
    });
  }

  private read(): void {
    const reads = this.pendingReads;
    this.pendingReads = [];
    // One read needs no transaction of its own; inside a TypeORM transaction (it spans awaits) the reads must see its
    // writes, and a nested transaction would be a savepoint for nothing.
    let connection: SqliteDatabase | undefined;
    try {
      connection = this.connection();
    } catch (error) {
      for (const read of reads) read.reject(error);
      return;
    }
    if (reads.length === 1 || connection.inTransaction) {
      for (const read of reads) this.answer(read)();
      return;
    }
    const results: (() => void)[] = [];
    try {
      this.readTogether(connection)(reads, results);
    } catch (error) {
      // BEGIN or COMMIT failed (the connection is gone): nothing was answered yet.
      for (const read of reads) read.reject(error);
      return;
    }
    for (const answer of results) answer();
  }

  /** BEGIN (deferred) … COMMIT around the reads: one snapshot and one lock for all; a failing read fails its caller only. */
  private readTogether(connection: SqliteDatabase): (reads: PendingRead[], results: (() => void)[]) => void {
    if (this.readTransaction?.on !== connection) {
      const run = connection.transaction((reads: PendingRead[], results: (() => void)[]) => {
        for (const read of reads) results.push(this.answer(read));
      });
      this.readTransaction = { on: connection, run };
    }
    return this.readTransaction.run;
  }

  /** Runs the read now; its caller is answered when the returned function is called (after the transaction ended). */
  private answer(read: PendingRead): () => void {
    try {
      const statement = this.statement(read.sql);
      const columns = this.columnsOf(statement);
      const rows = statement.all(...read.params).map((values) => rowOf(columns, values as readonly unknown[]));
      return () => read.resolve(rows);
    } catch (error) {
      return () => read.reject(error);
    }
  }

  private commit(): void {
    // A TypeORM transaction is open on the shared connection (it spans awaits): ours would nest in it and be undone
    // by its rollback after our callers were told their writes were stored. Wait for it to end.
    if ((this.dataSource.driver as unknown as SqliteDriver).databaseConnection?.inTransaction) {
      setTimeout(() => this.commit(), 1);
      return;
    }
    const writes = this.pending;
    this.pending = [];
    let results: number[][] = [];
    try {
      const connection = this.connection();
      this.withoutBusyWait(connection, () =>
        connection
          .transaction(() => {
            results = writes.map((write) => this.apply(write.statements));
          })
          .immediate(),
      );
    } catch (error) {
      // The other process holds the write lock. SQLite's busy handler would sleep for it on this thread, stalling
      // every request and run of this process (1, 2, 5, 10… ms a time); instead the transaction failed (at BEGIN
      // IMMEDIATE, or rolled back) with nothing stored, and the same writes, with those made meanwhile, are tried
      // again from a timer, for as long as the busy timeout would have waited.
      if (isBusy(error) && this.busyFor() < this.busyTimeoutMs) {
        this.pending = writes.concat(this.pending);
        setTimeout(() => this.commit(), BUSY_RETRY_MS);
        return;
      }
      this.settled();
      // Busy or gone is everyone's error (and retrying each alone would wait out the busy timeout once per write).
      if (writes.length === 1 || isDatabaseUnavailable(error)) {
        for (const write of writes) write.reject(error);
        return;
      }
      for (const write of writes) this.commitAlone(write);
      return;
    }
    this.settled();
    writes.forEach((write, i) => write.resolve(results[i]));
  }

  /** Runs `fn` with SQLite's busy handler off, so a lock held by the other process fails it instead of sleeping. */
  private withoutBusyWait(connection: SqliteDatabase, fn: () => void): void {
    this.statement('PRAGMA busy_timeout = 0').run();
    try {
      fn();
    } finally {
      // TypeORM's queries on this connection still wait for the lock in SQLite's handler, as before.
      this.statement(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`).run();
    }
  }

  /** Milliseconds since this commit first found the lock taken (0 the first time). */
  private busyFor(): number {
    const now = Date.now();
    this.busySince ??= now;
    return now - this.busySince;
  }

  /** The pending writes are taken: the next write schedules the next commit. */
  private settled(): void {
    this.scheduled = false;
    this.busySince = undefined;
  }

  private commitAlone(write: PendingWrite): void {
    try {
      let changed: number[] = [];
      this.connection().transaction(() => {
        changed = this.apply(write.statements);
      })();
      write.resolve(changed);
    } catch (error) {
      write.reject(error);
    }
  }

  private apply(statements: readonly HotStatement[]): number[] {
    return statements.map(({ sql, params }) => this.statement(sql).run(...params).changes);
  }

  private connection(): SqliteDatabase {
    const connection = (this.dataSource.driver as unknown as SqliteDriver).databaseConnection;
    // What TypeORM says after destroy(); `isDatabaseUnavailable` knows the message.
    if (!connection || !this.dataSource.isInitialized) throw new Error('Driver not Connected');
    return connection;
  }

  /**
   * The column names of a read, its statement switched to rows as arrays. better-sqlite3 builds each row object
   * through V8's API, a property at a time. For the 10-column agent row that each request reads, a read took 3.3–3.8 µs
   * as an object, against 2.5–2.6 µs as an array plus the object built from it here (tight loop; the lookup alone is
   * 1.2 µs). The run row each run reads has 19 columns.
   */
  private columnsOf(statement: SqliteStatement): readonly string[] {
    let columns = this.readColumns.get(statement);
    if (!columns) {
      columns = statement.columns().map((column) => column.name);
      statement.raw(true);
      this.readColumns.set(statement, columns);
    }
    return columns;
  }

  private statement(sql: string): SqliteStatement {
    const connection = this.connection();
    // A data source destroyed and initialized again has a new connection: statements belong to the old one.
    if (connection !== this.preparedOn) {
      this.prepared = new Map();
      this.preparedOn = connection;
      const configured = Number(connection.pragma('busy_timeout', { simple: true }));
      this.busyTimeoutMs = configured > 0 ? configured : DEFAULT_BUSY_TIMEOUT_MS;
    }
    let statement = this.prepared.get(sql);
    if (!statement) {
      statement = connection.prepare(toSqlitePlaceholders(sql));
      this.prepared.set(sql, statement);
    }
    return statement;
  }
}

/** A row as the object better-sqlite3 would have built (a later column of the same name wins, as there). */
function rowOf(columns: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i += 1) row[columns[i] as string] = values[i];
  return row;
}

const groupCommits = new WeakMap<DataSource, SqliteGroupCommit>();

/**
 * Hot-path SQL through the TypeORM data source without its query builder: statements written once with PostgreSQL's
 * `$1…$n` placeholders (each used once, in order), run on TypeORM's own connection. On SQLite they are prepared once
 * per connection and run on better-sqlite3 directly, writes in group commits (`SqliteGroupCommit`); on PostgreSQL they
 * go through a query runner (the pool), a transaction on one pooled connection. Errors are the drivers' own
 * (SQLITE_BUSY, pg's codes), which `isDatabaseUnavailable` recognises.
 */
export class HotSql {
  private readonly sqlite: SqliteGroupCommit | undefined;

  constructor(private readonly dataSource: DataSource) {
    if (dataSource.options.type === 'better-sqlite3') {
      let shared = groupCommits.get(dataSource);
      if (!shared) groupCommits.set(dataSource, (shared = new SqliteGroupCommit(dataSource)));
      this.sqlite = shared;
    }
  }

  /**
   * True on SQLite: this process's writes share group commits on one connection, and the database has one writer at
   * a time, so a statement never waits for another transaction's row lock (PostgreSQL's can).
   */
  get groupCommits(): boolean {
    return this.sqlite !== undefined;
  }

  /** The rows a SELECT reads. */
  async rows<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    if (this.sqlite) return (await this.sqlite.rows(sql, params)) as T[];
    return ((await this.structured(sql, params)).records ?? []) as T[];
  }

  /** Runs an INSERT, UPDATE or DELETE; resolves with the number of rows it changed once that is committed. */
  async run(sql: string, params: readonly unknown[]): Promise<number> {
    if (this.sqlite) return (await this.sqlite.write([{ sql, params }]))[0] ?? 0;
    return (await this.structured(sql, params)).affected ?? 0;
  }

  /** Runs the statements in one transaction, all or none; resolves with the rows each changed once committed. */
  async transaction(statements: readonly HotStatement[]): Promise<number[]> {
    if (this.sqlite) return this.sqlite.write(statements);
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      const changed: number[] = [];
      for (const { sql, params } of statements) {
        const result = (await runner.query(sql, [...params], true)) as StructuredResult;
        changed.push(result.affected ?? 0);
      }
      await runner.commitTransaction();
      return changed;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  private async structured(sql: string, params: readonly unknown[]): Promise<StructuredResult> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return (await runner.query(sql, [...params], true)) as StructuredResult;
    } finally {
      await runner.release();
    }
  }
}

/** SQLITE_BUSY and its extended codes (better-sqlite3 puts the extended one in `code`). */
function isBusy(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** `$1…$n` (each once, in order) → `?`. @throws when they are not in order, since `?` binds by position. */
export function toSqlitePlaceholders(sql: string): string {
  let expected = 1;
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    if (Number(n) !== expected) throw new Error(`placeholders must be $1…$n in order: found $${n} where $${expected} was expected`);
    expected += 1;
    return '?';
  });
}
