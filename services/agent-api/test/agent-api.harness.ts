import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServiceApp } from '@skreaver/http';
import { JsonLogger } from '@skreaver/observability';
import { isolatedDatabase, isolatedRedis } from '@skreaver/testing';
import type { IsolatedDatabase, IsolatedRedis } from '@skreaver/testing';

import { AppModule } from '../src/app.module';
import { AgentApiConfig } from '../src/config';

export interface BootedAgentApi {
  app: NestFastifyApplication;
  url: string;
  redis: IsolatedRedis;
  database: IsolatedDatabase;
  logs: string[];
  close(): Promise<void>;
}

/** agent-api in this process on a free port, against the real Redis (own prefix) and a fresh database. */
export async function bootAgentApi(kind: 'sqlite' | 'postgres', env: Record<string, string> = {}): Promise<BootedAgentApi> {
  const redis = isolatedRedis(`agent-api-${kind}`);
  const database = await isolatedDatabase(kind, 'agent_api');
  const config = AgentApiConfig.load({
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    SKREAVER_DATA_DIR: database.dataDir,
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const logs: string[] = [];
  const logger = new JsonLogger('skreaver_agent_api', 'debug', (line) => logs.push(line));
  const app = await createServiceApp(AppModule.forRoot(config, logger), { logger, bodyLimit: config.SKREAVER_MAX_BODY_SIZE });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    redis,
    database,
    logs,
    async close() {
      await app.close();
      await redis.cleanup();
      await database.cleanup();
    },
  };
}
