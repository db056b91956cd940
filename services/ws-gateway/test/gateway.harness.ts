import { randomBytes, randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TokenDenylist, TokenService, generateApiKey } from '@skreaver/auth';
import type { IssuedToken } from '@skreaver/auth';
import { AGENTS_NAMESPACE, AckV1, RunEventV1, WS_PATH, WsServerFrameV1, runEventId } from '@skreaver/contracts';
import type { Role, WsErrorV1 } from '@skreaver/contracts';
import { createServiceApp } from '@skreaver/http';
import { RunEventLog, StreamProducer, StreamReader, redisOutage, createRedis, type RedisClient } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { ApiKeyRepository, RunEventArchive, createDataSource, databaseOutage } from '@skreaver/persistence';
import { arrivals, isolatedRedis, isolatedSqlite, waitFor } from '@skreaver/testing';
import type { IsolatedDatabase, IsolatedRedis } from '@skreaver/testing';
import { nowIso } from '@skreaver/util';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { DataSource } from 'typeorm';
import { WebSocket } from 'ws';

import { AppModule } from '../src/app.module';
import { WsGatewayConfig } from '../src/config';
import { WsIoAdapter } from '../src/gateway/ws-io.adapter';

/** Redis, a migrated SQLite database and a JWT secret shared by the gateways a test file boots. */
export interface GatewayWorld {
  redis: IsolatedRedis;
  database: IsolatedDatabase;
  jwtSecret: string;
  /** A client of the test Redis, e.g. to write raw stream entries. */
  client: RedisClient;
  producer: StreamProducer;
  eventLog: RunEventLog;
  /** Stores events in the database archive, as coordinators do for finished runs (without their run rows). */
  archive(events: readonly RunEventV1[]): Promise<void>;
  keys: ApiKeyRepository;
  denylist: TokenDenylist;
  /** A token as agent-api would sign it. */
  token(options?: { tenant?: string; role?: Role; ttlSeconds?: number }): IssuedToken;
  /** A new API key of `tenant`, stored as agent-api stores it. */
  apiKey(options?: { tenant?: string; role?: Role; revoked?: boolean }): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createWorld(label: string): Promise<GatewayWorld> {
  const redis = isolatedRedis(label);
  const database = await isolatedSqlite();
  const dataSource: DataSource = createDataSource({ dataDir: database.dataDir, poolSize: 1, runMigrations: true });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'all' });
  const client = createRedis(redis.url);
  const producer = new StreamProducer(client, redis.prefix);
  const eventLog = new RunEventLog(producer, new StreamReader(client, redis.prefix));
  const keys = new ApiKeyRepository(dataSource);
  const denylist = new TokenDenylist(client, redis.prefix);
  const jwtSecret = randomBytes(32).toString('base64url');
  return {
    redis,
    database,
    jwtSecret,
    client,
    producer,
    eventLog,
    async archive(events) {
      // The archive's rows reference runs and agents; these tests have none to store, only events.
      await dataSource.query('PRAGMA foreign_keys = OFF');
      await new RunEventArchive(dataSource).append(events);
      await dataSource.query('PRAGMA foreign_keys = ON');
    },
    keys,
    denylist,
    token: ({ tenant = 'default', role = 'viewer', ttlSeconds = 600 } = {}) =>
      new TokenService({ secret: jwtSecret, ttlSeconds }).sign({ subject: `key:${tenant.slice(0, 10).padEnd(10, 'x')}`, role, tenant_id: tenant }),
    async apiKey({ tenant = 'default', role = 'viewer', revoked = false } = {}) {
      const generated = generateApiKey();
      await keys.insert({
        id: randomUUID(),
        name: 'test',
        prefix: generated.prefix,
        role,
        tenant_id: tenant,
        created_at: nowIso(),
        expires_at: null,
        last_used_at: null,
        revoked_at: revoked ? nowIso() : null,
        secret_hash: generated.hash,
        created_by: 'test',
      });
      return generated.key;
    },
    async cleanup() {
      client.disconnect();
      await dataSource.destroy();
      await redis.cleanup();
      await database.cleanup();
    },
  };
}

export interface BootedGateway {
  app: NestFastifyApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
  logs: string[];
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** A gateway in this process on a free port, on the world's Redis and database, with `env` overrides. */
export async function bootGateway(world: GatewayWorld, env: Record<string, string> = {}): Promise<BootedGateway> {
  const config = WsGatewayConfig.load({
    REDIS_URL: world.redis.url,
    REDIS_KEY_PREFIX: world.redis.prefix,
    SKREAVER_DATA_DIR: world.database.dataDir,
    JWT_SECRET_KEY: world.jwtSecret,
    SHUTDOWN_TIMEOUT_MS: '4000',
    ...env,
  });
  const logs: string[] = [];
  const logger = new JsonLogger('skreaver_ws_gateway', 'info', (line) => logs.push(line));
  const app = await createServiceApp(AppModule.forRoot(config, logger), { logger, dependencyOutages: [redisOutage, databaseOutage] });
  app.useWebSocketAdapter(new WsIoAdapter(app, config));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  await waitFor(async () => (await fetch(`${url}/ready`)).ok, { what: 'gateway readiness' });
  let closed = false;
  return {
    app,
    url,
    logs,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** The value of a metric sample in Prometheus text, 0 when absent. */
export function metricValue(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** A run event of the `default` tenant unless told otherwise. */
export function runEvent(agentId: string, runId: string, seq: number, overrides: Partial<RunEventV1> = {}): RunEventV1 {
  return RunEventV1.parse({
    id: runEventId(runId, seq),
    run_id: runId,
    agent_id: agentId,
    tenant_id: 'default',
    seq,
    ts: nowIso(),
    type: 'run.step',
    data: { attempt: 1, step: seq, name: 'step' },
    ...overrides,
  });
}

/** A socket.io client of `/agents` with everything it received. */
export interface IoClient {
  socket: Socket;
  events: RunEventV1[];
  errors: WsErrorV1[];
  subscribe(payload: unknown): Promise<AckV1>;
}

/** Connects to `/agents` with `auth.token` (or none); rejects with the `connect_error`. */
export async function connectIo(
  url: string,
  token: string | undefined,
  options: { query?: Record<string, string>; extraHeaders?: Record<string, string> } = {},
): Promise<IoClient> {
  const socket = io(`${url}${AGENTS_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
    ...options,
  });
  const events: RunEventV1[] = [];
  const errors: WsErrorV1[] = [];
  socket.on('event', (event: RunEventV1) => events.push(event));
  socket.on('error', (error: WsErrorV1) => errors.push(error));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
  return {
    socket,
    events,
    errors,
    subscribe: async (payload) => AckV1.parse(await socket.timeout(10_000).emitWithAck('subscribe', payload)),
  };
}

/** The `connect_error` of a refused socket.io connection: its message (the code) and data. */
export async function refusedIo(
  url: string,
  token: string | undefined,
  options: { query?: Record<string, string>; extraHeaders?: Record<string, string> } = {},
): Promise<{ message: string; data: unknown }> {
  try {
    const client = await connectIo(url, token, options);
    client.socket.close();
  } catch (error) {
    if (error instanceof Error) return { message: error.message, data: Reflect.get(error, 'data') };
    throw error;
  }
  throw new Error('the connection was accepted');
}

/** A `/ws` client with every frame it received, parsed with the contract. */
export interface WsClient {
  ws: WebSocket;
  frames: WsServerFrameV1[];
  events(): RunEventV1[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** Sends a request with a fresh id and resolves with the frame that answers it. */
  request(frame: Record<string, unknown>): Promise<WsServerFrameV1>;
  /** Resolves with the first frame (received from now on, or already) matching `predicate`. */
  next(predicate: (frame: WsServerFrameV1) => boolean, timeoutMs?: number): Promise<WsServerFrameV1>;
}

let requestIds = 0;

/** Opens `/ws` (`?token=` when given); resolves once open, or once closed when the gateway refuses it. */
export async function openWs(
  url: string,
  options: { token?: string; headers?: Record<string, string>; autoPong?: boolean } = {},
): Promise<WsClient> {
  const query = options.token === undefined ? '' : `?token=${encodeURIComponent(options.token)}`;
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${WS_PATH}${query}`, { headers: options.headers, autoPong: options.autoPong ?? true });
  const arrived = arrivals<WsServerFrameV1>();
  const frames = arrived.items;
  ws.on('message', (data: Buffer) => arrived.push(WsServerFrameV1.parse(JSON.parse(data.toString('utf8')))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    void closed.then(() => resolve());
  });
  const next = (predicate: (frame: WsServerFrameV1) => boolean, timeoutMs = 10_000) =>
    arrived.next(predicate, 'matching frame', timeoutMs);
  return {
    ws,
    frames,
    events: () => frames.flatMap((frame) => (frame.type === 'event' ? [frame.event] : [])),
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async request(frame) {
      const id = `r${++requestIds}`;
      ws.send(JSON.stringify({ ...frame, id }));
      return next((answer) => 'id' in answer && answer.id === id);
    },
    next,
  };
}

/** Publishes `events` to the run logs and the global stream, as coordinators do. */
export async function appendAll(world: GatewayWorld, events: readonly RunEventV1[]): Promise<void> {
  for (const event of events) await world.eventLog.append(event);
}
