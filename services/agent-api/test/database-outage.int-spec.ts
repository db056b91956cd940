import type { ApiErrorBody } from '@skreaver/contracts';
import { TEST_POSTGRES_URL, waitFor } from '@skreaver/testing';
import { Client } from 'pg';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

// The runbook: "PostgreSQL down → cannot create new agents", answered as a retryable 503, and /ready says why.
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

    const ready = await fetch(`${api.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, { status: string }> }).checks['database']?.status).toBe('down');

    await admin.query(`ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`);
    await waitFor(async () => (await createAgent()).status === 201, { what: 'agent creation to work again' });
    expect((await fetch(`${api.url}/ready`)).status).toBe(200);
  });
});
