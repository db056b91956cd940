import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { isolatedDatabase, isolatedRedis, onOutputLines, waitFor } from '@skreaver/testing';
import type { IsolatedDatabase, IsolatedRedis } from '@skreaver/testing';

import { authenticateCallsTo, forgetCredentialsFor, newApiKey } from './credentials';
import { freePort } from './free-port';

const ROOT = join(__dirname, '..', '..', '..');

export type ServiceName = 'agent-api' | 'ws-gateway' | 'mesh-coordinator';

/** One service process of the stack, with everything it printed. */
export class ServiceProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    onOutputLines(child, (line) => this.output.push(line));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Log lines parsed as the JSON objects they must be. */
  jsonLogs(): Array<Record<string, unknown>> {
    return this.output.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface Stack {
  readonly api: ServiceProcess;
  readonly gateways: ServiceProcess[];
  /** The first of `coordinators`. */
  readonly coordinator: ServiceProcess;
  /** Every mesh-coordinator (one unless `coordinators` asked for more). */
  readonly coordinators: ServiceProcess[];
  readonly redis: IsolatedRedis;
  readonly database: IsolatedDatabase;
  /** The bootstrap admin key (SKREAVER_ADMIN_API_KEY) of tenant `default`. */
  readonly adminKey: string;
  /** A token minted from `adminKey`; `call()` and `readEventStream()` send it to agent-api by default. */
  readonly adminToken: string;
  /** Exchanges an API key (the admin key by default) for a new token. */
  token(apiKey?: string): Promise<string>;
  /**
   * Starts one more process of `name` with the stack's environment (e.g. an agent-api after the first stopped), on
   * `port` when given (a restart in place: clients reconnect to the same address); resolves once it is ready.
   */
  launch(name: ServiceName, port?: number): Promise<ServiceProcess>;
  /** Every process the stack started, stopped ones included. */
  all(): ServiceProcess[];
  /** SIGTERMs every service and returns their exits. */
  stop(): Promise<Array<{ name: string; code: number | null; signal: NodeJS.Signals | null }>>;
}

/** Options of `startStack`. */
export interface StackOptions {
  gateways?: number;
  coordinators?: number;
  env?: Record<string, string>;
  database?: 'sqlite' | 'postgres';
  /** The Redis to use (e.g. a `privateRedis()` the test stops and restarts); the shared test Redis by default. */
  redisUrl?: string;
  /** With `database: 'postgres'`, the server to create the stack's database on (e.g. a `privatePostgres()`). */
  postgresUrl?: string;
}

/** Starts the built services as real processes on free ports, isolated by a Redis prefix and a fresh database (SQLite by default). */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  for (const name of ['agent-api', 'ws-gateway', 'mesh-coordinator']) {
    if (!existsSync(join(ROOT, 'services', name, 'dist', 'main.js'))) {
      throw new Error(`services/${name}/dist is missing: run \`npm run build\` before the e2e tests`);
    }
  }
  const redis = isolatedRedis('e2e', options.redisUrl);
  const database = await isolatedDatabase(options.database ?? 'sqlite', 'e2e', options.postgresUrl);
  const adminKey = newApiKey();
  // Known before agent-api starts: it tells the web console where the (first) gateway is.
  const gatewayPorts = await Promise.all(Array.from({ length: options.gateways ?? 1 }, () => freePort()));
  const baseEnv: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    HOST: '127.0.0.1',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    SKREAVER_DATA_DIR: database.dataDir,
    SHUTDOWN_TIMEOUT_MS: '10000',
    // Like `npm start`: every service gets the secret; today only agent-api reads it (and the key).
    JWT_SECRET_KEY: randomBytes(32).toString('base64url'),
    SKREAVER_ADMIN_API_KEY: adminKey,
    // Specs poll every 25 ms with one token: the rate limiter stays on (headers, a Redis round trip per request) but
    // far above that; rate-limit behaviour has its own integration tests.
    SKREAVER_RATE_LIMIT_PER_SUBJECT: '100000',
    SKREAVER_RATE_LIMIT_PER_IP: '100000',
    SKREAVER_CONSOLE_GATEWAY_URL: `http://127.0.0.1:${gatewayPorts[0]}`,
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  };
  const launch = async (name: ServiceName, fixedPort?: number): Promise<ServiceProcess> => {
    const port = fixedPort ?? (await freePort());
    const child = spawn(process.execPath, [join(ROOT, 'services', name, 'dist', 'main.js')], {
      env: { ...baseEnv, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(name, port, child);
  };
  const ready = (service: ServiceProcess) =>
    waitFor(
      async () => {
        if (service.child.exitCode !== null) throw new Error(`${service.name} exited:\n${service.output.join('\n')}`);
        return (await fetch(`${service.url}/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: `${service.name} /ready` },
    );

  const launched: ServiceProcess[] = [];
  const start = async (name: ServiceName, port?: number) => {
    const service = await launch(name, port);
    launched.push(service);
    return service;
  };
  let api: ServiceProcess;
  let gateways: ServiceProcess[];
  let coordinators: ServiceProcess[];
  let adminToken: string;
  try {
    // agent-api first: it owns the schema and migrates it.
    api = await start('agent-api');
    await ready(api);
    adminToken = await exchange(api.url, adminKey);
    gateways = await Promise.all(gatewayPorts.map((port) => start('ws-gateway', port)));
    coordinators = await Promise.all(Array.from({ length: options.coordinators ?? 1 }, () => start('mesh-coordinator')));
    await Promise.all([...gateways, ...coordinators].map(ready));
  } catch (error) {
    // Leave no process behind: a failed start must not keep Jest (or the machine) busy.
    for (const service of launched) service.child.kill('SIGKILL');
    await Promise.all(launched.map((service) => service.exited));
    await redis.cleanup();
    await database.cleanup();
    throw error;
  }

  const extra: ServiceProcess[] = [];
  const all = () => [api, ...gateways, ...coordinators, ...extra];
  authenticateCallsTo(api.url, adminToken);
  return {
    api,
    gateways,
    coordinator: coordinators[0] as ServiceProcess,
    coordinators,
    redis,
    database,
    adminKey,
    adminToken,
    token: (apiKey = adminKey) => exchange(api.url, apiKey),
    async launch(name, port) {
      const service = await launch(name, port);
      extra.push(service);
      try {
        await ready(service);
      } catch (error) {
        service.child.kill('SIGKILL');
        throw error;
      }
      if (name === 'agent-api') authenticateCallsTo(service.url, adminToken);
      return service;
    },
    all,
    async stop() {
      for (const service of all()) if (service.name === 'agent-api') forgetCredentialsFor(service.url);
      const exits = await Promise.all(
        all().map(async (service) => {
          if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGTERM');
          const exit = await service.exited;
          return { name: service.name, ...exit };
        }),
      );
      try {
        await redis.cleanup();
      } finally {
        // Also when Redis is unreachable (a test that stops it failed): the database must not be left behind.
        await database.cleanup();
      }
      return exits;
    },
  };
}

/** POST /auth/token with `apiKey`; the token. */
async function exchange(apiUrl: string, apiKey: string): Promise<string> {
  const response = await fetch(`${apiUrl}/auth/token`, { method: 'POST', headers: { 'x-api-key': apiKey } });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) throw new Error(`POST /auth/token answered ${response.status}`);
  return body.access_token;
}
