import { generateApiKey, hashSecret } from '@skreaver/auth';
import { ConfigError } from '@skreaver/config';
import type { ApiKeyList } from '@skreaver/contracts';
import { JsonLogger } from '@skreaver/observability';
import { isolatedSqlite } from '@skreaver/testing';
import type { IsolatedDatabase } from '@skreaver/testing';
import { DataSource } from 'typeorm';

import { AppModule } from '../src/app.module';
import { AgentApiConfig } from '../src/config';
import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

const PRINTED_KEY = /sk_[a-z0-9]{10}_[A-Za-z0-9_-]{32,}/g;

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** Boots the API while capturing what it writes to stderr. */
async function bootCapturingStderr(...args: Parameters<typeof bootAgentApi>): Promise<{ api: BootedAgentApi; stderr: string }> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    return { api: await bootAgentApi(...args), stderr: written.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('agent-api auth configuration', () => {
  const logger = new JsonLogger('skreaver_agent_api', 'error', () => undefined);

  it('should refuse to start without JWT_SECRET_KEY, naming the variable', () => {
    const error = configError(() => AppModule.forRoot(AgentApiConfig.load({}), logger));

    expect(error.message).toMatch(/^Invalid environment: JWT_SECRET_KEY=<missing> \(required/);
  });

  it('should name a short JWT_SECRET_KEY or a malformed SKREAVER_ADMIN_API_KEY without printing either value', () => {
    const error = configError(() =>
      AgentApiConfig.load({ JWT_SECRET_KEY: 'hunter2-too-short', SKREAVER_ADMIN_API_KEY: 'sk_hunter2_letmein' }),
    );

    expect(error.problems.map((problem) => problem.split('=')[0]).sort()).toEqual(['JWT_SECRET_KEY', 'SKREAVER_ADMIN_API_KEY']);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('at least 32 characters');
  });
});

describe('the admin key made at start (sqlite)', () => {
  let database: IsolatedDatabase;

  beforeAll(async () => {
    database = await isolatedSqlite();
  });

  afterAll(async () => {
    await database?.cleanup();
  });

  it('should generate one admin key, print it once on stderr only, and honour a short token lifetime', async () => {
    const env = { SKREAVER_GENERATE_ADMIN_KEY: 'true', JWT_TTL_SECONDS: '1' };
    const first = await bootCapturingStderr('sqlite', env, { database, bootstrapAdmin: false });
    let adminKey: string;
    try {
      const printed = first.stderr.match(PRINTED_KEY) ?? [];
      // The banner shows the key and a curl line using it: one key, twice.
      expect(new Set(printed).size).toBe(1);
      adminKey = printed[0] ?? '';
      expect(first.stderr).toContain('shown ONLY THIS ONCE');
      expect(first.api.logs.some((line) => line.includes(adminKey) || line.includes(adminKey.slice(14)))).toBe(false);

      const token = await first.api.tokenFor(adminKey);
      const issued = await first.api.request('GET', '/api-keys', { token });
      expect(issued.status).toBe(200);
      expect((issued.body as ApiKeyList).items).toEqual([expect.objectContaining({ name: 'bootstrap-admin', role: 'admin', tenant_id: 'default' })]);

      // JWT_TTL_SECONDS=1: the token dies a second after it was issued.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const expired = await first.api.request('GET', '/agents', { token });
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({ error: 'unauthorized', details: { reason: 'expired' } });
      expect(first.api.logs.some((line) => line.includes(token))).toBe(false);
    } finally {
      await first.api.close();
    }

    const second = await bootCapturingStderr('sqlite', env, { database, bootstrapAdmin: false });
    try {
      expect(second.stderr).not.toMatch(PRINTED_KEY);
      expect((await second.api.request('GET', '/agents', { apiKey: adminKey })).status).toBe(200);
    } finally {
      await second.api.close();
    }
  });
});

describe('SKREAVER_ADMIN_API_KEY across restarts (sqlite)', () => {
  let database: IsolatedDatabase;

  beforeAll(async () => {
    database = await isolatedSqlite();
  });

  afterAll(async () => {
    await database?.cleanup();
  });

  it('should store it once, hashed, and keep it revoked after a restart with the variable still set', async () => {
    const { key: adminKey, secret } = generateApiKey();
    const env = { SKREAVER_ADMIN_API_KEY: adminKey };
    const first = await bootAgentApi('sqlite', env, { database, bootstrapAdmin: false });
    try {
      const token = await first.tokenFor(adminKey);
      const listed = (await first.request<ApiKeyList>('GET', '/api-keys', { token })).body.items;
      expect(listed).toHaveLength(1);
      const rows: unknown = await first.app.get(DataSource).query('SELECT * FROM api_keys');
      expect(rows).toEqual([expect.objectContaining({ secret_hash: hashSecret(secret), created_by: 'bootstrap' })]);
      expect(JSON.stringify(rows)).not.toContain(secret);
      expect((await first.request('DELETE', `/api-keys/${listed[0]?.id}`, { token })).status).toBe(204);
    } finally {
      await first.close();
    }

    const second = await bootAgentApi('sqlite', env, { database, bootstrapAdmin: false });
    try {
      const refused = await second.request('GET', '/agents', { apiKey: adminKey });
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ details: { reason: 'revoked' } });
      expect(second.logs.some((line) => line.includes('SKREAVER_ADMIN_API_KEY has been revoked'))).toBe(true);
    } finally {
      await second.close();
    }
  });
});
