import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Client } from 'pg';

import { freePort } from './free-port';
import { waitFor } from './wait-for';

const run = promisify(execFile);

/** A PostgreSQL server of the test's own, so a test can stop and restart the database without disturbing others. */
export interface PrivatePostgres {
  /** Server URL (database `postgres`, user `postgres`, trust auth); pass it to `isolatedPostgres` as the server. */
  readonly url: string;
  readonly port: number;
  /** Stops the server as a crash would (`pg_ctl -m immediate`: no checkpoint, clients cut off) and waits until it is gone. */
  kill(): Promise<void>;
  /** Stops the server cleanly (`-m fast`). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (crash recovery replays the WAL). */
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

/** The directory of `initdb` and `pg_ctl`: PG_BIN_DIR, or the newest Debian install under /usr/lib/postgresql. */
function binDir(): string {
  const configured = process.env['PG_BIN_DIR'];
  if (configured) return configured;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  const newest = versions[0];
  if (!newest) throw new Error('no PostgreSQL server binaries found: install postgresql or set PG_BIN_DIR');
  return join(root, newest, 'bin');
}

/**
 * Starts a PostgreSQL server in a temp dir on a free loopback port. initdb refuses to run as root, so as root the
 * server runs as the `postgres` system user.
 */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'skreaver-postgres-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const exec = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args);

  await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const answers = async () => {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const stopWith = async (mode: 'immediate' | 'fast') => {
    if (!existsSync(join(data, 'postmaster.pid'))) return;
    await exec('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  };

  const instance: PrivatePostgres = {
    url,
    port,
    async start() {
      await exec('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
      await waitFor(answers, { timeoutMs: 30_000, what: `postgres on ${port}` });
    },
    kill: () => stopWith('immediate'),
    stop: () => stopWith('fast'),
    async cleanup() {
      await stopWith('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}
