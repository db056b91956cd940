import type { ApiErrorBody } from '@skreaver/contracts';
import { TEST_POSTGRES_URL, waitFor } from '@skreaver/testing';
import { Client } from 'pg';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

// The runbook: "PostgreSQL down → cannot create new agents", answered as a retryable 503; /ready says why and keeps
// the pod in rotation (200 degraded).
describe('agent-api when PostgreSQL goes away', () => {
  let api: BootedAgentApi;
  let admin: Client;
  let databaseName: string;

  beforeAll(async () => {
    api = await bootAgentApi('postgres');
    databaseName = new URL(api.database.url ?? '').pathname.slice(1);
    admin = new Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin?.end();
    await api?.close();
  });

  const createAgent = () =>
    fetch(`${api.url}/agents`, {
      method: 'POST',
      // A token, not an API key: tokens are checked without the database, so the answer is the agent route's own.
      headers: { ...api.adminHeaders, 'content-type': 'application/json' },
      body: '{"name":"a","kind":"echo"}',
    });

  it('should answer 503 database_unavailable while it is down and recover when it is back', async () => {
    expect((await createAgent()).status).toBe(201);

    await admin.query(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [databaseName]);

    const down = await createAgent();
    expect(down.status).toBe(503);
    expect(((await down.json()) as ApiErrorBody).error).toBe('database_unavailable');

    // The pod stays in rotation (every replica shares the database; the routes that need it answer 503 meanwhile),
    // and /ready names the database.
    const ready = await fetch(`${api.url}/ready`);
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as { status: string; checks: Record<string, { status: string; required?: boolean }> };
    expect(report.status).toBe('degraded');
    expect(report.checks['database']).toMatchObject({ status: 'down', required: false });
    expect(report.checks['redis']?.status).toBe('up');

    await admin.query(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`);
    await waitFor(async () => (await createAgent()).status === 201, { what: 'agent creation to work again' });
    const after = await fetch(`${api.url}/ready`);
    expect([after.status, ((await after.json()) as { status: string }).status]).toEqual([200, 'ready']);
  });
});
