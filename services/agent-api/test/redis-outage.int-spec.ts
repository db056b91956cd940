import { generateApiKey } from '@skreaver/auth';
import type { Agent, ApiErrorBody, Run, TokenResponse } from '@skreaver/contracts';
import { createServiceApp } from '@skreaver/http';
import { redisOutage } from '@skreaver/messaging';
import { databaseOutage } from '@skreaver/persistence';
import { JsonLogger } from '@skreaver/observability';
import { isolatedSqlite, privateRedis, waitFor } from '@skreaver/testing';
import type { IsolatedDatabase, PrivateRedis } from '@skreaver/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

import { AppModule } from '../src/app.module';
import { AgentApiConfig } from '../src/config';

// The runbook: "Redis down → agent communication fails" with clear errors, /ready names Redis, and the service
// recovers by itself when Redis is back. Uses a redis-server of its own so stopping it disturbs no other test.
describe('agent-api when Redis goes away', () => {
  let redis: PrivateRedis;
  let database: IsolatedDatabase;
  let app: NestFastifyApplication;
  let url: string;
  // An API key, not a token: keys are checked against the database alone, so they keep working without Redis.
  const adminKey = generateApiKey().key;
  const credentials = { 'x-api-key': adminKey };

  beforeAll(async () => {
    redis = await privateRedis();
    database = await isolatedSqlite();
    const config = AgentApiConfig.load({
      REDIS_URL: redis.url,
      SKREAVER_DATA_DIR: database.dataDir,
      JWT_SECRET_KEY: 'redis-outage-test-secret-0123456789abcdef',
      SKREAVER_ADMIN_API_KEY: adminKey,
    });
    const logger = new JsonLogger('skreaver_agent_api', 'error', () => undefined);
    app = await createServiceApp(AppModule.forRoot(config, logger), { logger, dependencyOutages: [redisOutage, databaseOutage] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  // Closing waits for the Redis clients to settle after the restart; on a loaded machine that exceeds Jest's 5 s.
  afterAll(async () => {
    await app?.close();
    await redis?.cleanup();
    await database?.cleanup();
  }, 30_000);

  const post = async <T>(path: string, body: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { ...credentials, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  };

  it('should refuse runs with 503 queue_unavailable, leave no queued orphan, report Redis down, and recover', async () => {
    const agent = (await post<Agent>('/agents', { name: 'r', kind: 'echo' })).body;
    const { access_token: token } = (await post<TokenResponse>('/auth/token', {})).body;
    const withToken = () => fetch(`${url}/agents`, { headers: { authorization: `Bearer ${token}` } });
    await redis.stop();
    try {
      const refused = await post<ApiErrorBody>(`/agents/${agent.id}/runs`, { input: 1 });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toBe('queue_unavailable');

      // The run it stored is removed again, not left queued with no job behind it (a retry creates it anew).
      const runs = (await (await fetch(`${url}/agents/${agent.id}/runs`, { headers: credentials })).json()) as { items: Run[] };
      expect(runs.items).toEqual([]);

      // Agents live in the database: reads and creation keep working without Redis.
      expect((await post<Agent>('/agents', { name: 'still', kind: 'echo' })).status).toBe(201);

      // A token cannot be checked against the denylist: refused as retryable, never let through unchecked.
      const unchecked = await withToken();
      expect(unchecked.status).toBe(503);
      expect(((await unchecked.json()) as ApiErrorBody).error).toBe('redis_unavailable');

      const ready = await fetch(`${url}/ready`);
      expect(ready.status).toBe(503);
      const report = (await ready.json()) as { checks: Record<string, { status: string }> };
      expect(report.checks['redis']?.status).toBe('down');
      expect(report.checks['database']?.status).toBe('up');
    } finally {
      // Whatever failed above, Redis comes back: a stopped Redis would keep afterAll's close waiting.
      await redis.start();
    }
    await waitFor(async () => (await fetch(`${url}/ready`)).ok, { timeoutMs: 15_000, what: 'readiness after Redis is back' });
    expect((await post<Run>(`/agents/${agent.id}/runs`, { input: 2 })).status).toBe(202);
    expect((await withToken()).status).toBe(200);
  }, 30_000);
});
