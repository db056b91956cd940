import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { AgentRegistry, builtInAgents, defineAgent, echoAgent } from '@skreaver/agent-runtime';
import { RunEventLog, StreamProducer, StreamReader, createRedis, type RedisClient } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { createRunQueue } from '@skreaver/runs';
import type { RunQueue } from '@skreaver/runs';
import { AgentRepository, RunEventArchive, RunRepository, createDataSource } from '@skreaver/persistence';
import { isolatedDatabase, isolatedRedis, releaseAll } from '@skreaver/testing';
import type { IsolatedDatabase, IsolatedRedis } from '@skreaver/testing';
import { z } from 'zod';
import type { DataSource } from 'typeorm';

import { AppModule } from '../src/app.module';
import { MeshCoordinatorConfig } from '../src/config';

/**
 * The tests' echo: `mode: flaky` fails the first attempt of each run (retries without a fake queue), `slow` takes
 * `slowMs`; any other mode violates its config schema (a permanent failure).
 */
export function testEchoAgent(slowMs: number) {
  const failedOnce = new Set<string>();
  return defineAgent({
    ...echoAgent,
    configSchema: z.object({ mode: z.enum(['ok', 'flaky', 'slow']).default('ok') }),
    async run(input, context) {
      if (context.config.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, slowMs));
      if (context.config.mode === 'flaky' && !failedOnce.has(context.runId)) {
        failedOnce.add(context.runId);
        throw new Error('first attempt always fails');
      }
      return input;
    },
  });
}

/** A coordinator booted in-process on a migrated database of its own and a Redis prefix of its own. */
export interface CoordinatorHarness {
  app: NestFastifyApplication;
  dataSource: DataSource;
  agents: AgentRepository;
  runs: RunRepository;
  archive: RunEventArchive;
  /** A client of the test's own on the coordinator's Redis. */
  redis: RedisClient;
  redisIsolation: IsolatedRedis;
  database: IsolatedDatabase;
  /** The run queue the coordinator works on (`RUN_QUEUE`). */
  queue: RunQueue;
  eventLog: RunEventLog;
  /** Shuts the coordinator down as SIGTERM would (once; `cleanup` then leaves it). */
  closeApp(): Promise<void>;
  /** Closes the app (unless the test already did), the clients, and removes the database and keys. */
  cleanup(): Promise<void>;
}

/** Migrates a fresh database (agent-api's job in production), then boots the coordinator with `env` and the test echo. */
export async function startCoordinator(
  kind: 'sqlite' | 'postgres',
  label: string,
  options: { env?: Record<string, string>; echoSlowMs?: number } = {},
): Promise<CoordinatorHarness> {
  const redisIsolation = isolatedRedis(`${label}-${kind}`);
  const database = await isolatedDatabase(kind, label);
  const dataSource = createDataSource({ databaseUrl: database.url, dataDir: database.dataDir, poolSize: 5, runMigrations: true });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });

  const config = MeshCoordinatorConfig.load({
    REDIS_URL: redisIsolation.url,
    REDIS_KEY_PREFIX: redisIsolation.prefix,
    SKREAVER_DATA_DIR: database.dataDir,
    WORKER_ID: 'test-worker',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  });
  const logger = new JsonLogger('skreaver_mesh_coordinator', 'warn', () => undefined);
  const echo = testEchoAgent(options.echoSlowMs ?? 700);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config, logger)] })
    .overrideProvider(AgentRegistry)
    .useValue(new AgentRegistry([echo, ...builtInAgents().filter((definition) => definition.kind !== 'echo')]))
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  await app.init();

  const redis = createRedis(redisIsolation.url);
  const queue = createRunQueue(config.RUN_QUEUE, redis, redisIsolation.prefix);
  let closed = false;
  const harness: CoordinatorHarness = {
    app,
    dataSource,
    agents: new AgentRepository(dataSource),
    runs: new RunRepository(dataSource),
    archive: new RunEventArchive(dataSource),
    redis,
    redisIsolation,
    database,
    queue,
    eventLog: new RunEventLog(new StreamProducer(redis, redisIsolation.prefix), new StreamReader(redis, redisIsolation.prefix)),
    async closeApp() {
      if (closed) return;
      closed = true;
      await app.close();
    },
    // Every step, whatever the ones before did: a test that broke a dependency must still leave no keys or database.
    cleanup: () =>
      releaseAll(
        () => harness.closeApp(),
        () => queue.onApplicationShutdown(),
        () => redis.disconnect(),
        () => dataSource.destroy(),
        () => redisIsolation.cleanup(),
        () => database.cleanup(),
      ),
  };
  return harness;
}
