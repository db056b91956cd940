import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generateApiKey } from '@skreaver/auth';
import { LOG_LEVELS } from '@skreaver/config';
import type { LogLevel } from '@skreaver/config';
import { onOutputLines } from '@skreaver/testing';
import Redis from 'ioredis';
import { Client } from 'pg';

import { freePort } from './free-port';
import { OnCpuRecorder, PERF_MAP_FLAG, PROFILER, perfMapOf } from './on-cpu-profile';
import { sleep, waitUntil } from './time';

export const ROOT = join(__dirname, '..', '..', '..');
export const REDIS_URL = singleServer(process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379');
/**
 * Log level of the services under test: `warn` by default, low enough that logging does not dominate what is
 * measured; `BENCH_LOG_LEVEL=info` measures what the services' default level costs (a line per request).
 */
export const SERVICE_LOG_LEVEL = logLevel(process.env['BENCH_LOG_LEVEL'] ?? 'warn');

/** The services' run queue (`RUN_QUEUE`): the default `streams`, or `BENCH_RUN_QUEUE=bullmq` to measure BullMQ's. */
export const RUN_QUEUE = runQueue(process.env['BENCH_RUN_QUEUE'] ?? 'streams');

/**
 * The services' database (`BENCH_DATABASE`): a temporary SQLite file (`sqlite`, the default: what `npm start` runs
 * on), or `postgres`, a fresh database on BENCH_POSTGRES_URL's server (what production runs on), dropped afterwards.
 */
export const DATABASE = databaseKind(process.env['BENCH_DATABASE'] ?? 'sqlite');

/** The PostgreSQL server the bench creates its databases on (trust auth on loopback, as the tests use). */
export const POSTGRES_URL = process.env['BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A new database on POSTGRES_URL's server: its URL, and how to drop it (whoever is still connected). */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const database = `skreaver_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } catch (error) {
    await admin.end();
    throw error;
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  };
}

function databaseKind(value: string): 'sqlite' | 'postgres' {
  if (value !== 'sqlite' && value !== 'postgres') throw new Error(`BENCH_DATABASE must be sqlite or postgres, not ${value}`);
  return value;
}

function runQueue(value: string): 'streams' | 'bullmq' {
  if (value !== 'streams' && value !== 'bullmq') throw new Error(`BENCH_RUN_QUEUE must be streams or bullmq, not ${value}`);
  return value;
}

function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((known) => known === value);
  if (!level) throw new Error(`BENCH_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not ${value}`);
  return level;
}

export type ServiceName = 'agent-api' | 'ws-gateway' | 'mesh-coordinator';

/** One service process under test. */
export class ServiceProcess {
  readonly output: string[] = [];
  readonly exited: Promise<void>;
  readonly startedAt = performance.now();
  /** Milliseconds from spawn to the first 200 of `/ready`. */
  readyMs = Number.NaN;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    onOutputLines(child, (line) => {
      this.output.push(line);
      if (this.output.length > 400) this.output.splice(0, this.output.length - 200);
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitReady(timeoutMs = 30_000): Promise<number> {
    await waitUntil(
      async () => {
        if (!this.running) throw new Error(`${this.name} exited:\n${this.output.slice(-20).join('\n')}`);
        try {
          return (await fetch(`${this.url}/ready`)).ok;
        } catch {
          return false;
        }
      },
      timeoutMs,
      `${this.name} /ready`,
      10,
    );
    this.readyMs = performance.now() - this.startedAt;
    return this.readyMs;
  }

  /** SIGTERM (the service drains and exits, writing its CPU profile if it has one), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const killed = sleep(graceMs).then(() => {
      if (this.running) this.child.kill('SIGKILL');
    });
    await Promise.race([this.exited, killed]);
    await this.exited;
  }
}

/** Options of `Platform.start`. */
export interface PlatformOptions {
  /** Extra environment of every service. */
  env?: Record<string, string>;
  /**
   * Profile each service into `<profileDir>/<service>/`: with `--cpu-prof`, or with BENCH_PROFILER=perf, `perf record`
   * from `/ready` to `stop()` (perf.data and its summary, on-cpu.txt).
   */
  profileDir?: string;
}

/**
 * The built services as real processes on free ports, isolated by a unique Redis key prefix and a temporary SQLite
 * database (or a fresh PostgreSQL one, `BENCH_DATABASE`), with a JWT secret and a bootstrap admin key; `stop()` ends
 * them and deletes their keys, files and database.
 */
export class Platform {
  readonly prefix = `bench-${randomBytes(4).toString('hex')}`;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'skreaver-bench-'));
  readonly adminKey = generateApiKey().key;
  readonly services: ServiceProcess[] = [];
  /** BENCH_PROFILER=perf: one per service `start` started. */
  private readonly recorders: OnCpuRecorder[] = [];
  /** The profile directory when the services are profiled with perf (BENCH_PROFILER=perf), else undefined. */
  private readonly perfDir: string | undefined;
  private readonly jwtSecret = randomBytes(32).toString('base64url');
  token = '';
  /** `BENCH_DATABASE=postgres`: the database `start` created (unless the caller's env names one). */
  private postgres: { url: string; drop: () => Promise<void> } | undefined;

  constructor(private readonly options: PlatformOptions = {}) {
    this.perfDir = PROFILER === 'perf' ? options.profileDir : undefined;
    for (const name of ['agent-api', 'ws-gateway', 'mesh-coordinator']) {
      if (!existsSync(join(ROOT, 'services', name, 'dist', 'main.js'))) throw new Error(`services/${name}/dist is missing: run \`npm run build\``);
    }
  }

  get env(): Record<string, string> {
    return {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      LOG_LEVEL: SERVICE_LOG_LEVEL,
      RUN_QUEUE,
      HOST: '127.0.0.1',
      REDIS_URL,
      REDIS_KEY_PREFIX: this.prefix,
      SKREAVER_DATA_DIR: this.dataDir,
      SHUTDOWN_TIMEOUT_MS: '5000',
      JWT_SECRET_KEY: this.jwtSecret,
      SKREAVER_ADMIN_API_KEY: this.adminKey,
      // The load generator is one client: the limiters stay on (a Redis round trip per request) but never refuse.
      SKREAVER_RATE_LIMIT_PER_SUBJECT: '10000000',
      SKREAVER_RATE_LIMIT_PER_IP: '10000000',
      SKREAVER_MESH_INBOX_LIMIT: '10000000',
      WEBSOCKET_MAX_CONNECTIONS: '100000',
      WS_MAX_CONNECTIONS_PER_IP: '100000',
      ...(this.postgres ? { DATABASE_URL: this.postgres.url } : {}),
      ...this.options.env,
    };
  }

  /** Spawns one service (not waiting for it to be ready). */
  async spawn(name: ServiceName, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const port = await freePort();
    const flags: string[] = [];
    if (this.perfDir) flags.push(PERF_MAP_FLAG);
    else if (this.options.profileDir) {
      const dir = join(this.options.profileDir, name);
      mkdirSync(dir, { recursive: true });
      flags.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    }
    const child = spawn(process.execPath, [...flags, join(ROOT, 'services', name, 'dist', 'main.js')], {
      env: { ...this.env, ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(name, port, child);
    this.services.push(service);
    return service;
  }

  /** Starts agent-api (it migrates the database) and then the others, one after another, each until `/ready`. */
  async start(names: readonly ServiceName[]): Promise<Record<ServiceName, ServiceProcess | undefined>> {
    const started: Partial<Record<ServiceName, ServiceProcess>> = {};
    if (DATABASE === 'postgres' && !this.options.env?.['DATABASE_URL'] && !this.postgres) this.postgres = await freshPostgresDatabase();
    for (const name of ['agent-api', 'ws-gateway', 'mesh-coordinator'] as const) {
      if (!names.includes(name)) continue;
      const service = await this.spawn(name);
      await service.waitReady();
      started[name] = service;
      if (this.perfDir) this.recorders.push(await OnCpuRecorder.start(service.pid, join(this.perfDir, name), `${name} (pid ${service.pid})`));
      if (name === 'agent-api') this.token = await this.exchangeToken(service.url);
    }
    return { 'agent-api': started['agent-api'], 'ws-gateway': started['ws-gateway'], 'mesh-coordinator': started['mesh-coordinator'] };
  }

  service(name: ServiceName): ServiceProcess {
    const found = this.services.find((service) => service.name === name && service.running);
    if (!found) throw new Error(`${name} is not running`);
    return found;
  }

  /** A JSON call to agent-api with the admin token. */
  async api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.service('agent-api').url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Creates an echo agent that runs any number of runs at once (no admission queueing). */
  async echoAgent(): Promise<string> {
    const created = await this.api<{ id: string }>('POST', '/agents', {
      name: 'bench-echo',
      kind: 'echo',
      config: { delay_ms: 0 },
      concurrency: { policy: 'parallel', max_concurrency: 1000 },
    });
    if (created.status !== 201) throw new Error(`POST /agents answered ${created.status}: ${JSON.stringify(created.body)}`);
    return created.body.id;
  }

  /** Stops every service, then deletes the Redis keys under the prefix and the database files. */
  async stop(): Promise<void> {
    try {
      // Sampling ends before the services drain and exit: a profile of the load, not of the shutdown.
      for (const recorder of this.recorders.splice(0)) await recorder.finish();
    } finally {
      await Promise.all(this.services.map((service) => service.stop()));
      // Every service wrote a perf map until it exited, recorded or not (one restarted outside `start`); the recorders
      // have read theirs by now.
      for (const { child } of this.perfDir ? this.services : []) if (child.pid !== undefined) rmSync(perfMapOf(child.pid), { force: true });
      await deleteRedisPrefix(this.prefix);
      rmSync(this.dataDir, { recursive: true, force: true });
      await this.postgres?.drop();
      this.postgres = undefined;
    }
  }

  private async exchangeToken(apiUrl: string): Promise<string> {
    const response = await fetch(`${apiUrl}/auth/token`, { method: 'POST', headers: { 'x-api-key': this.adminKey } });
    const body = (await response.json()) as { access_token?: string };
    if (response.status !== 200 || !body.access_token) throw new Error(`POST /auth/token answered ${response.status}`);
    return body.access_token;
  }
}

/** Deletes every key of a prefix: stream keys start with `prefix:`, BullMQ keys with `{prefix}`. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const pattern of [`${prefix}:*`, `{${prefix}}*`, `bull:${prefix}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

/**
 * The bench's raw baselines, key cleanup and machine probe talk to one server with plain ioredis: a Sentinel or Cluster
 * URL would fail deep inside a scenario, so it is refused up front.
 */
function singleServer(url: string): string {
  if (/^rediss?:\/\//i.test(url)) return url;
  throw new Error(`BENCH_REDIS_URL must name one server (redis:// or rediss://); the bench does not run on Sentinel or Cluster URLs`);
}
