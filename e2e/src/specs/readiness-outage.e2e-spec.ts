import type { ApiErrorBody } from '@skreaver/contracts';
import { privatePostgres, waitFor } from '@skreaver/testing';
import type { PrivatePostgres } from '@skreaver/testing';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

interface Report {
  status: 'ready' | 'degraded' | 'not_ready';
  checks: Record<string, { status: string; required?: boolean }>;
}

// The chart's readinessProbe is /ready: a database outage must not take pods out of their Services (the edge would
// answer 503 for everything), only make the routes that need the database answer 503. PostgreSQL of the test's own is
// killed; every service's probe answer is read while it is down and after it is back.
describe('readiness during a database outage', () => {
  let postgres: PrivatePostgres;
  let stack: Stack;

  beforeAll(async () => {
    postgres = await privatePostgres();
    stack = await startStack({ database: 'postgres', postgresUrl: postgres.url });
  }, 90_000);

  afterAll(async () => {
    try {
      await stack?.stop();
    } finally {
      await postgres?.cleanup();
    }
  }, 60_000);

  const probe = async (service: ServiceProcess) => {
    const response = await fetch(`${service.url}/ready`, { signal: AbortSignal.timeout(5_000) });
    return { http: response.status, body: (await response.json()) as Report };
  };
  const services = () => [stack.api, stack.gateways[0] as ServiceProcess, stack.coordinator];

  it('should keep every service in rotation (200 degraded, database named) while the routes that need it answer 503', async () => {
    for (const service of services()) expect((await probe(service)).body.status).toBe('ready');

    await postgres.kill();

    for (const service of services()) {
      const answer = await waitFor(
        async () => {
          const current = await probe(service);
          return current.body.checks['database']?.status === 'down' ? current : undefined;
        },
        { timeoutMs: 15_000, what: `${service.name} /ready naming the database` },
      );
      expect({ service: service.name, http: answer.http, status: answer.body.status, database: answer.body.checks['database'], redis: answer.body.checks['redis']?.status }).toEqual({
        service: service.name,
        http: 200,
        status: 'degraded',
        database: expect.objectContaining({ status: 'down', required: false }),
        redis: 'up',
      });
    }
    // agent-api: a route that needs the database refuses cleanly; one that does not (mesh presence, Redis) serves.
    const create = await call<ApiErrorBody>(stack.api.url, 'POST', '/agents', { name: 'during-outage', kind: 'echo' });
    expect([create.status, create.body.error]).toEqual([503, 'database_unavailable']);
    expect((await call(stack.api.url, 'GET', '/mesh/presence')).status).toBe(200);

    await postgres.start();

    for (const service of services()) {
      await waitFor(async () => (await probe(service)).body.status === 'ready', { timeoutMs: 30_000, what: `${service.name} /ready ready again` });
    }
    expect((await call(stack.api.url, 'POST', '/agents', { name: 'after-outage', kind: 'echo' })).status).toBe(201);
  }, 90_000);
});
