import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { TEST_POSTGRES_URL } from './test-env';

/** A database that exists only for one test file. */
export interface IsolatedDatabase {
  readonly kind: 'sqlite' | 'postgres';
  /** Value for DATABASE_URL; undefined means "the SQLite file under dataDir". */
  readonly url: string | undefined;
  readonly dataDir: string;
  cleanup(): Promise<void>;
}

/** A fresh PostgreSQL database on the test server (or the server at `serverUrl`), dropped by `cleanup()`. */
export async function isolatedPostgres(label: string, serverUrl = TEST_POSTGRES_URL): Promise<IsolatedDatabase> {
  const name = `skreaver_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'skreaver-pg-'));
  return {
    kind: 'postgres',
    url: url.toString(),
    dataDir,
    async cleanup() {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh SQLite data directory in the OS temp dir, removed by `cleanup()`. */
export async function isolatedSqlite(): Promise<IsolatedDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skreaver-sqlite-'));
  return {
    kind: 'sqlite',
    url: undefined,
    dataDir,
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Both supported databases, for `describe.each`. */
export const DATABASE_KINDS = ['sqlite', 'postgres'] as const;

export function isolatedDatabase(kind: (typeof DATABASE_KINDS)[number], label: string, postgresUrl?: string): Promise<IsolatedDatabase> {
  return kind === 'postgres' ? isolatedPostgres(label, postgresUrl) : isolatedSqlite();
}
