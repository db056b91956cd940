import { resolve } from 'node:path';

import { createDataSource, describeDatabase, resolveDatabaseTarget } from './data-source.factory';
import { MIGRATIONS } from './migrations/migration-list';

const dataDir = '/var/lib/skreaver';

describe(resolveDatabaseTarget.name, () => {
  it('should pick the SQLite file under dataDir when no URL is set', () => {
    expect(resolveDatabaseTarget({ dataDir })).toEqual({ kind: 'sqlite', file: '/var/lib/skreaver/skreaver.sqlite' });
    expect(resolveDatabaseTarget({ dataDir, databaseUrl: '  ' })).toEqual({
      kind: 'sqlite',
      file: '/var/lib/skreaver/skreaver.sqlite',
    });
  });

  it.each([
    ['sqlite:/abs/file.db', '/abs/file.db'],
    ['sqlite:///abs/file.db', '/abs/file.db'],
    ['sqlite:./rel.db', resolve('rel.db')],
    ['sqlite:data/rel.db', resolve('data/rel.db')],
  ])('should read %s as the SQLite file %s', (databaseUrl, file) => {
    expect(resolveDatabaseTarget({ dataDir, databaseUrl })).toEqual({ kind: 'sqlite', file });
  });

  it.each(['postgres://u:p@db:5432/skreaver', 'postgresql://db/skreaver?sslmode=require', 'POSTGRES://db/x'])(
    'should pick PostgreSQL for %s',
    (databaseUrl) => {
      expect(resolveDatabaseTarget({ dataDir, databaseUrl })).toEqual({ kind: 'postgres', url: databaseUrl });
    },
  );

  it.each(['mysql://db/x', 'redis://127.0.0.1:6379', '/just/a/path.db', 'sqlite:'])(
    'should reject %s',
    (databaseUrl) => {
      expect(() => resolveDatabaseTarget({ dataDir, databaseUrl })).toThrow(/DATABASE_URL/);
    },
  );
});

describe(describeDatabase.name, () => {
  it('should name the SQLite file', () => {
    expect(describeDatabase({ dataDir })).toEqual({ kind: 'sqlite', target: '/var/lib/skreaver/skreaver.sqlite' });
  });

  it('should keep user, host, port and database but drop the password', () => {
    const databaseUrl = 'postgres://app:s3cr%40t@db.internal:6432/skreaver';
    const { kind, target } = describeDatabase({ dataDir, databaseUrl });
    expect(kind).toBe('postgres');
    expect(target).toBe('postgres://app@db.internal:6432/skreaver');
    expect(target).not.toContain('s3cr');
  });

  it('should drop a password given as a query parameter', () => {
    const databaseUrl = 'postgresql://app@db/skreaver?sslmode=require&password=hunter2';
    const { target } = describeDatabase({ dataDir, databaseUrl });
    expect(target).toBe('postgresql://app@db/skreaver?sslmode=require');
  });

  it('should not echo a URL it cannot parse', () => {
    const { target } = describeDatabase({ dataDir, databaseUrl: 'postgres://app:hunter2@[bad' });
    expect(target).not.toContain('hunter2');
  });
});

describe(createDataSource.name, () => {
  it('should build an uninitialized PostgreSQL data source with the pool size and no synchronize', () => {
    const databaseUrl = 'postgres://db/skreaver';
    const dataSource = createDataSource({ dataDir, databaseUrl, poolSize: 7, runMigrations: true });

    expect(dataSource.isInitialized).toBe(false);
    expect(dataSource.options).toMatchObject({ type: 'postgres', url: databaseUrl, poolSize: 7, synchronize: false });
    expect(dataSource.options.migrations).toBe(MIGRATIONS);
  });
});
