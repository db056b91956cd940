import { DATABASE_KINDS } from '@skreaver/testing';

import { HotSql, isDatabaseUnavailable, toSqlitePlaceholders } from '../src';
import { migratedDatabase } from './persistence-fixtures';

describe.each(DATABASE_KINDS)('HotSql on %s', (kind) => {
  let sut: HotSql;
  const database = migratedDatabase(kind, 'persistence-hot-sql', async (dataSource) => {
    await dataSource.query('CREATE TABLE hot_sql_probe (id varchar(36) PRIMARY KEY, n integer NOT NULL)');
    sut = new HotSql(dataSource);
  });

  const INSERT = 'INSERT INTO hot_sql_probe (id, n) VALUES ($1, $2)';
  const count = async (prefix: string) =>
    Number((await sut.rows<{ total: number | string }>('SELECT COUNT(*) AS total FROM hot_sql_probe WHERE id LIKE $1', [`${prefix}%`]))[0]?.total);

  it('should read rows and report the rows a write changed', async () => {
    await expect(sut.run(INSERT, ['read-1', 1])).resolves.toBe(1);
    await expect(sut.run('UPDATE hot_sql_probe SET n = $1 WHERE id = $2', [2, 'read-1'])).resolves.toBe(1);
    await expect(sut.run('UPDATE hot_sql_probe SET n = $1 WHERE id = $2', [2, 'missing'])).resolves.toBe(0);

    await expect(sut.rows('SELECT id, n FROM hot_sql_probe WHERE id = $1', ['read-1'])).resolves.toEqual([{ id: 'read-1', n: 2 }]);
  });

  it('should answer each row as an object of its columns, in the order selected, the same on every read', async () => {
    await sut.transaction([{ sql: INSERT, params: ['shape-1', 1] }, { sql: INSERT, params: ['shape-2', 2] }]);
    const select = "SELECT n, id, NULL AS absent, n * 10 AS tens FROM hot_sql_probe WHERE id LIKE $1 ORDER BY id";

    const first = await sut.rows<Record<string, unknown>>(select, ['shape-%']);
    const again = await sut.rows<Record<string, unknown>>(select, ['shape-2']);

    expect(first).toEqual([
      { n: 1, id: 'shape-1', absent: null, tens: 10 },
      { n: 2, id: 'shape-2', absent: null, tens: 20 },
    ]);
    expect(first.map((row) => Object.keys(row))).toEqual([
      ['n', 'id', 'absent', 'tens'],
      ['n', 'id', 'absent', 'tens'],
    ]);
    expect(again).toEqual([{ n: 2, id: 'shape-2', absent: null, tens: 20 }]);
  });

  it("should fail only the write that breaks a constraint, not the others made at the same moment", async () => {
    await sut.run(INSERT, ['same-1', 1]);

    const writes = await Promise.allSettled([sut.run(INSERT, ['same-2', 2]), sut.run(INSERT, ['same-1', 9]), sut.run(INSERT, ['same-3', 3])]);

    expect(writes.map((write) => write.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await expect(count('same-')).resolves.toBe(3);
  });

  it('should store all of a transaction or none of it', async () => {
    await expect(sut.transaction([{ sql: INSERT, params: ['tx-1', 1] }, { sql: INSERT, params: ['tx-2', 2] }])).resolves.toEqual([1, 1]);

    // Settled by hand: better-sqlite3's errors come from native code, not always an Error of Jest's realm.
    const second = await sut.transaction([{ sql: INSERT, params: ['tx-3', 3] }, { sql: INSERT, params: ['tx-1', 1] }]).then(
      () => 'stored',
      () => 'refused',
    );

    expect(second).toBe('refused');

    await expect(count('tx-')).resolves.toBe(2);
  });

  it('should answer reads made together each with its own rows, and fail only the read that fails', async () => {
    await sut.transaction([{ sql: INSERT, params: ['together-1', 1] }, { sql: INSERT, params: ['together-2', 2] }]);
    const select = 'SELECT id, n FROM hot_sql_probe WHERE id = $1';

    // On SQLite these share one read transaction (made in the same microtask run).
    const reads = await Promise.allSettled([sut.rows(select, ['together-1']), sut.rows('SELECT no_such_column FROM hot_sql_probe', []), sut.rows(select, ['together-2'])]);

    expect(reads.map((read) => read.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(reads.map((read) => (read.status === 'fulfilled' ? read.value : null))).toEqual([[{ id: 'together-1', n: 1 }], null, [{ id: 'together-2', n: 2 }]]);
    // And the connection is left out of any transaction: the next write commits.
    await expect(sut.run(INSERT, ['together-3', 3])).resolves.toBe(1);
    await expect(count('together-')).resolves.toBe(3);
  });

  it('should throw an outage error once the data source is closed', async () => {
    await database.dataSource.destroy();

    const error: unknown = await sut.run(INSERT, ['closed-1', 1]).then(() => null, (cause: unknown) => cause);

    // What makes DatabaseWait wait instead of failing the run.
    expect(isDatabaseUnavailable(error)).toBe(true);
  });
});

describe(toSqlitePlaceholders.name, () => {
  it('should turn $1…$n into positional placeholders', () => {
    expect(toSqlitePlaceholders('UPDATE t SET a = $1 WHERE id = $2 AND s IN ($3, $4)')).toBe('UPDATE t SET a = ? WHERE id = ? AND s IN (?, ?)');
  });

  it('should refuse placeholders out of order (they bind by position)', () => {
    expect(() => toSqlitePlaceholders('SELECT $2, $1')).toThrow(/in order/);
  });
});
