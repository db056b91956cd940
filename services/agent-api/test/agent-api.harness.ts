import { randomBytes } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { generateApiKey } from '@skreaver/auth';
import type { CreatedApiKey, Role, TokenResponse } from '@skreaver/contracts';
import { createServiceApp } from '@skreaver/http';
import { redisOutage } from '@skreaver/messaging';
import { databaseOutage } from '@skreaver/persistence';
import { JsonLogger } from '@skreaver/observability';
import { isolatedDatabase, isolatedRedis, releaseAll } from '@skreaver/testing';
import supertest from 'supertest';
import type { IsolatedDatabase, IsolatedRedis } from '@skreaver/testing';

import { AppModule } from '../src/app.module';
import { AgentApiConfig } from '../src/config';
import { setUpOpenApi } from '../src/openapi/openapi.setup';

/** A route as Fastify registered it. */
export interface RouteInfo {
  method: string;
  url: string;
}

/** A JSON answer. */
export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** How to call the API: which credential (none by default), and a JSON body. */
export interface RequestOptions {
  body?: unknown;
  /** Sent as `Authorization: Bearer <token>` (a JWT or an `sk_…` key). */
  token?: string;
  /** Sent as `X-API-Key`. */
  apiKey?: string;
  headers?: Record<string, string>;
}

export interface BootedAgentApi {
  app: NestFastifyApplication;
  url: string;
  redis: IsolatedRedis;
  database: IsolatedDatabase;
  /** Every JSON log line the service wrote. */
  logs: string[];
  /** Every route Fastify registered, collected with its onRoute hook (HEAD twins included). */
  routes: RouteInfo[];
  /** The JWT secret the service signs with. */
  jwtSecret: string;
  /** The bootstrap admin key (`SKREAVER_ADMIN_API_KEY`) of tenant `default`; empty when booted without one. */
  adminKey: string;
  /** A token minted from `adminKey`; empty when booted without one. */
  adminToken: string;
  /** `{ authorization: 'Bearer <adminToken>' }`. */
  adminHeaders: Record<string, string>;
  request<T = Record<string, unknown>>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Exchanges an API key for a token. */
  tokenFor(apiKey: string): Promise<string>;
  /** Creates a key with the admin token (or `as`, another admin's token). */
  createKey(role: Role, options?: { tenant_id?: string; name?: string; as?: string }): Promise<CreatedApiKey>;
  close(): Promise<void>;
}

export interface BootOptions {
  /** Reuse a database (e.g. to restart against it); the caller cleans it up. */
  database?: IsolatedDatabase;
  /** false: boot without `SKREAVER_ADMIN_API_KEY`. */
  bootstrapAdmin?: boolean;
  /** The Redis to use (e.g. a `privateRedis()` the test stops); the shared test Redis by default. */
  redisUrl?: string;
}

/**
 * agent-api in this process on a free port, against the real Redis (own prefix) and a fresh database, with a
 * random JWT secret and a bootstrap admin key already exchanged for a token.
 */
export async function bootAgentApi(
  kind: 'sqlite' | 'postgres',
  env: Record<string, string> = {},
  options: BootOptions = {},
): Promise<BootedAgentApi> {
  const redis = isolatedRedis(`agent-api-${kind}`, options.redisUrl);
  const database = options.database ?? (await isolatedDatabase(kind, 'agent_api'));
  const jwtSecret = randomBytes(32).toString('base64url');
  const adminKey = options.bootstrapAdmin === false ? '' : generateApiKey().key;
  // Whatever happens from here (a boot that throws, a close that fails), the test's keys and database go: the run
  // queue writes its meta key as the app starts, and a test that broke the database can make app.close() throw.
  const release = (app?: NestFastifyApplication) =>
    releaseAll(
      () => app?.close(),
      () => redis.cleanup(),
      () => (options.database ? undefined : database.cleanup()),
    );
  const config = AgentApiConfig.load({
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    SKREAVER_DATA_DIR: database.dataDir,
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    JWT_SECRET_KEY: jwtSecret,
    ...(adminKey ? { SKREAVER_ADMIN_API_KEY: adminKey } : {}),
    ...env,
  });
  let booting: NestFastifyApplication | undefined;
  try {
    const logs: string[] = [];
    const logger = new JsonLogger('skreaver_agent_api', 'debug', (line) => logs.push(line));
    const app = await createServiceApp(AppModule.forRoot(config, logger), {
      logger,
      bodyLimit: config.SKREAVER_MAX_BODY_SIZE,
      dependencyOutages: [redisOutage, databaseOutage],
    });
    booting = app;
    setUpOpenApi(app);
    // Routes are registered when the app initializes (in listen), so the hook sees every one of them.
    const routes: RouteInfo[] = [];
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) routes.push({ method, url: route.url });
      });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    // Requests go through supertest to the app's own server (the real Fastify adapter, ready since listen): the same
    // stack a client meets, without a hand-made HTTP client.
    await app.getHttpAdapter().getInstance().ready();
    const agent = supertest(app.getHttpServer());
    const request = async <T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> => {
      const response = await agent[method.toLowerCase() as 'get'](path)
        .set({
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}),
          ...options.headers,
        })
        // The raw text, so the service parses (and refuses) what a client sent, not what supertest would serialize.
        .buffer(true)
        .parse((res, done) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done(null, text));
        })
        .send(options.body === undefined ? undefined : JSON.stringify(options.body));
      const text = typeof response.body === 'string' ? response.body : '';
      const headers = new Headers();
      for (const [name, value] of Object.entries(response.headers as Record<string, string | string[]>)) {
        for (const one of [value].flat()) headers.append(name, one);
      }
      const isJson = headers.get('content-type')?.includes('json') ?? false;
      return { status: response.status, body: (text && isJson ? JSON.parse(text) : text || undefined) as T, headers };
    };
    const tokenFor = async (apiKey: string) => {
      const response = await request<TokenResponse>('POST', '/auth/token', { apiKey });
      if (response.status !== 200) throw new Error(`POST /auth/token answered ${response.status}: ${JSON.stringify(response.body)}`);
      return response.body.access_token;
    };
    const adminToken = adminKey ? await tokenFor(adminKey) : '';
    return {
      app,
      url,
      redis,
      database,
      logs,
      routes,
      jwtSecret,
      adminKey,
      adminToken,
      adminHeaders: { authorization: `Bearer ${adminToken}` },
      request,
      tokenFor,
      async createKey(role, keyOptions = {}) {
        const { as = adminToken, ...body } = keyOptions;
        const response = await request<CreatedApiKey>('POST', '/api-keys', { token: as, body: { name: `${role}-key`, role, ...body } });
        if (response.status !== 201) throw new Error(`POST /api-keys answered ${response.status}: ${JSON.stringify(response.body)}`);
        return response.body;
      },
      close: () => release(app),
    };
  } catch (error) {
    await release(booting);
    throw error;
  }
}
