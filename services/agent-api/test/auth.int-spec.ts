import type { ApiErrorBody, ApiKey, ApiKeyList, AuditList, CreatedApiKey, TokenResponse } from '@skreaver/contracts';
import { DATABASE_KINDS, waitFor } from '@skreaver/testing';
import jwt from 'jsonwebtoken';
import { DataSource } from 'typeorm';

import { bootAgentApi } from './agent-api.harness';
import type { ApiResponse, BootedAgentApi } from './agent-api.harness';

type Answer = ApiResponse<ApiErrorBody | undefined>;

function expectUnauthorized(response: Answer, reason: string): void {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe('Bearer realm="skreaver"');
  expect(response.body).toMatchObject({ error: 'unauthorized', details: { reason } });
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe.each(DATABASE_KINDS)('authentication on %s', (kind) => {
  let api: BootedAgentApi;
  // Every credential this file handles, to prove none of them reaches a log line.
  const secrets = new Set<string>();

  const remember = <T extends string>(secret: T): T => {
    secrets.add(secret);
    return secret;
  };
  const key = async (role: 'admin' | 'operator' | 'viewer', options: { tenant_id?: string; as?: string } = {}) => {
    const created = await api.createKey(role, options);
    remember(created.key);
    return created;
  };
  const tokenFor = async (apiKey: string) => remember(await api.tokenFor(apiKey));
  const listAgents = (token: string): Promise<Answer> => api.request('GET', '/agents', { token });

  beforeAll(async () => {
    api = await bootAgentApi(kind);
    remember(api.adminKey);
    remember(api.adminToken);
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('POST /auth/token', () => {
    it('should exchange a key sent as Bearer, as X-API-Key or in the body for a working token', async () => {
      const viewer = await key('viewer');
      const answers = await Promise.all([
        api.request<TokenResponse>('POST', '/auth/token', { token: viewer.key }),
        api.request<TokenResponse>('POST', '/auth/token', { apiKey: viewer.key }),
        api.request<TokenResponse>('POST', '/auth/token', { body: { api_key: viewer.key } }),
      ]);

      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, expires_at: expect.any(String) });
        remember(answer.body.access_token);
        expect((await listAgents(answer.body.access_token)).status).toBe(200);
      }
      const claims = jwt.decode(answers[0]?.body.access_token ?? '') as Record<string, unknown>;
      expect(claims).toMatchObject({ sub: `key:${viewer.prefix}`, role: 'viewer', tenant: 'default' });
      expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'jti', 'role', 'sub', 'tenant']);
    });

    it('should refuse a missing, malformed or unknown key, and a token, with 401', async () => {
      const unknown = `sk_zzzzzzzzzz_${'A'.repeat(43)}`;

      expectUnauthorized(await api.request('POST', '/auth/token'), 'missing');
      expectUnauthorized(await api.request('POST', '/auth/token', { apiKey: 'sk_nope' }), 'malformed');
      expectUnauthorized(await api.request('POST', '/auth/token', { body: { api_key: unknown } }), 'unknown_key');
      expectUnauthorized(await api.request('POST', '/auth/token', { token: api.adminToken }), 'malformed');
    });

    it('should not let a token outlive the key it comes from', async () => {
      const expiresAt = new Date(Date.now() + 120_000).toISOString();
      const created = await api.request<CreatedApiKey>('POST', '/api-keys', {
        token: api.adminToken,
        body: { name: 'short-lived', role: 'viewer', expires_at: expiresAt },
      });
      remember(created.body.key);

      const token = await api.request<TokenResponse>('POST', '/auth/token', { apiKey: created.body.key });

      expect(token.body.expires_at).toBe(expiresAt);
      expect(token.body.expires_in).toBeLessThanOrEqual(120);
    });
  });

  describe('tokens', () => {
    it('should refuse an unsigned alg:none token and a token signed with another secret', async () => {
      const payload = jwt.decode(api.adminToken) as jwt.JwtPayload;
      const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
      const foreign = jwt.sign(payload, 'another-secret-that-is-long-enough-0123456789', { algorithm: 'HS256' });

      expectUnauthorized(await listAgents(unsigned), 'invalid_signature');
      expectUnauthorized(await listAgents(foreign), 'invalid_signature');
      expectUnauthorized(await listAgents('not.a.token'), 'malformed');
    });

    it('should revoke the token it is called with, and nothing else', async () => {
      const operator = await key('operator');
      const [first, second] = [await tokenFor(operator.key), await tokenFor(operator.key)];

      expect((await api.request('POST', '/auth/revoke', { token: first })).status).toBe(204);

      expectUnauthorized(await listAgents(first), 'revoked');
      expect((await listAgents(second)).status).toBe(200);
      expect((await api.request('GET', '/agents', { apiKey: operator.key })).status).toBe(200);
    });

    it("should revoke another token of the caller's tenant given in the body, but not another tenant's", async () => {
      const victim = await tokenFor((await key('viewer')).key);
      const acmeAdmin = await key('admin', { tenant_id: 'acme-revoke' });
      const acmeToken = await tokenFor(acmeAdmin.key);

      const foreign = await api.request('POST', '/auth/revoke', { token: acmeToken, body: { token: victim } });
      expect(foreign.status).toBe(403);
      expect((await listAgents(victim)).status).toBe(200);

      expect((await api.request('POST', '/auth/revoke', { token: api.adminToken, body: { token: victim } })).status).toBe(204);
      expectUnauthorized(await listAgents(victim), 'revoked');
      expect((await listAgents(api.adminToken)).status).toBe(200);
    });

    it("should refuse a viewer or an operator revoking someone else's token with 403, and let them revoke their own", async () => {
      // Its own admin token: if the refusal failed, the shared api.adminToken must survive for the other tests.
      const adminToken = await tokenFor(api.adminKey);
      const viewer = await key('viewer');
      const viewerToken = await tokenFor(viewer.key);
      const operatorToken = await tokenFor((await key('operator')).key);
      const otherViewerToken = await tokenFor(viewer.key);

      for (const [caller, victim] of [
        [{ token: viewerToken }, adminToken],
        [{ token: operatorToken }, adminToken],
        [{ token: viewerToken }, operatorToken],
        // Another token of the same key is still not the token the call is made with.
        [{ token: viewerToken }, otherViewerToken],
        // An API key has no token of its own to revoke.
        [{ apiKey: viewer.key }, viewerToken],
      ] as const) {
        const refused = await api.request<ApiErrorBody>('POST', '/auth/revoke', { ...caller, body: { token: victim } });
        expect(refused.status).toBe(403);
        expect(refused.body).toMatchObject({ error: 'forbidden' });
      }
      for (const token of [adminToken, operatorToken, otherViewerToken, viewerToken]) expect((await listAgents(token)).status).toBe(200);

      expect((await api.request('POST', '/auth/revoke', { token: viewerToken, body: { token: viewerToken } })).status).toBe(204);
      expectUnauthorized(await listAgents(viewerToken), 'revoked');
      expect((await api.request('POST', '/auth/revoke', { token: operatorToken })).status).toBe(204);
      expectUnauthorized(await listAgents(operatorToken), 'revoked');
      expect((await listAgents(adminToken)).status).toBe(200);
    });

    it('should refuse to revoke "itself" when called with an API key, and a body that is no token', async () => {
      expect((await api.request('POST', '/auth/revoke', { apiKey: api.adminKey })).status).toBe(400);
      expect((await api.request('POST', '/auth/revoke', { token: api.adminToken, body: { token: 'x.y.z' } })).status).toBe(400);
    });

    it("should stop every token of the tenant issued before revoke-all, keep later ones, and leave other tenants alone", async () => {
      const tenantAdmin = await key('admin', { tenant_id: 'acme-all' });
      const before = await tokenFor(tenantAdmin.key);
      const otherTenant = await tokenFor((await key('viewer')).key);

      expect((await api.request('POST', '/auth/revoke-all', { token: before })).status).toBe(204);

      expectUnauthorized(await listAgents(before), 'revoked');
      const after = await tokenFor(tenantAdmin.key);
      expect((await listAgents(after)).status).toBe(200);
      expect((await listAgents(otherTenant)).status).toBe(200);
      expect((await api.request('GET', '/agents', { apiKey: tenantAdmin.key })).status).toBe(200);
    });
  });

  describe('/api-keys', () => {
    it('should show the key once and list keys by prefix without secrets', async () => {
      const created = await key('operator');
      expect(created).toMatchObject({ role: 'operator', tenant_id: 'default', revoked_at: null, last_used_at: null });
      expect(created.key).toMatch(new RegExp(`^sk_${created.prefix}_`));

      const listed = await api.request<ApiKeyList>('GET', `/api-keys?prefix=${created.prefix}`, { token: api.adminToken });
      const { key: _shownOnce, ...visible } = created;
      expect(listed.body.items).toEqual([visible]);
      // `sk_` + 10-character prefix + `_`: the rest is the secret (which may itself contain `_`).
      expect(JSON.stringify(listed.body)).not.toContain(created.key.slice(14));
      expect(JSON.stringify((await api.request('GET', '/api-keys', { token: api.adminToken })).body)).not.toMatch(/secret|hash|sk_/);
    });

    it('should refuse an expiry in the past and unknown fields', async () => {
      const past = await api.request<ApiErrorBody>('POST', '/api-keys', {
        token: api.adminToken,
        body: { name: 'late', role: 'viewer', expires_at: '2020-01-01T00:00:00.000Z' },
      });
      expect(past.status).toBe(400);
      expect(past.body.details).toEqual([{ path: 'expires_at', message: 'must be in the future' }]);
      const extra = await api.request('POST', '/api-keys', { token: api.adminToken, body: { name: 'x', role: 'viewer', secret: 'mine' } });
      expect(extra.status).toBe(400);
    });

    it('should make a revoked key and every token minted from it fail immediately', async () => {
      const operator = await key('operator');
      const token = await tokenFor(operator.key);
      expect((await listAgents(token)).status).toBe(200);

      expect((await api.request('DELETE', `/api-keys/${operator.id}`, { token: api.adminToken })).status).toBe(204);

      expectUnauthorized(await api.request('GET', '/agents', { apiKey: operator.key }), 'revoked');
      expectUnauthorized(await api.request('POST', '/auth/token', { apiKey: operator.key }), 'revoked');
      expectUnauthorized(await listAgents(token), 'revoked');
      expect((await api.request('DELETE', `/api-keys/${operator.id}`, { token: api.adminToken })).status).toBe(204);
    });

    it('should record when a key was last used', async () => {
      const viewer = await key('viewer');
      await api.request('GET', '/agents', { apiKey: viewer.key });

      const used = await waitFor(
        async () => {
          const listed = await api.request<ApiKeyList>('GET', `/api-keys?prefix=${viewer.prefix}`, { token: api.adminToken });
          return listed.body.items[0]?.last_used_at ?? undefined;
        },
        { what: 'last_used_at' },
      );
      expect(Date.parse(used)).toBeGreaterThanOrEqual(Date.parse(viewer.created_at));
    });

    it("should log a failed last-use write with the id of the request the key came with", async () => {
      const viewer = await key('viewer');
      const dataSource = api.app.get(DataSource);
      // The database refuses the bookkeeping write, and only it: the request itself still succeeds.
      const refuse =
        kind === 'sqlite'
          ? ['CREATE TRIGGER refuse_touch BEFORE UPDATE OF last_used_at ON api_keys BEGIN SELECT RAISE(ABORT, \'touch refused\'); END']
          : [
              "CREATE FUNCTION refuse_touch() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'touch refused'; END $$ LANGUAGE plpgsql",
              'CREATE TRIGGER refuse_touch BEFORE UPDATE OF last_used_at ON api_keys FOR EACH ROW EXECUTE FUNCTION refuse_touch()',
            ];
      for (const sql of refuse) await dataSource.query(sql);
      try {
        const requestId = `${kind}-touch-${Date.now()}`;
        expect((await api.request('GET', '/agents', { apiKey: viewer.key, headers: { 'x-request-id': requestId } })).status).toBe(200);

        const line = await waitFor(
          () =>
            api.logs
              .map((text) => JSON.parse(text) as { fields: Record<string, unknown> })
              .find((entry) => entry.fields['message'] === 'Could not record API key use' && String(entry.fields['error']).includes('touch refused')),
          { what: 'the failed last-use line' },
        );
        expect(line.fields['request_id']).toBe(requestId);
      } finally {
        await dataSource.query(kind === 'sqlite' ? 'DROP TRIGGER refuse_touch' : 'DROP TRIGGER refuse_touch ON api_keys');
        if (kind === 'postgres') await dataSource.query('DROP FUNCTION refuse_touch()');
      }
    });
  });

  describe('tenants', () => {
    it("should keep another tenant's keys and audit entries invisible", async () => {
      const globexAdmin = await key('admin', { tenant_id: 'globex' });
      const globex = await tokenFor(globexAdmin.key);
      const globexViewer = await key('viewer', { as: globex });
      const defaultKey = await key('viewer');

      const listed = await api.request<ApiKeyList>('GET', '/api-keys', { token: globex });
      expect(listed.body.items.map((k: ApiKey) => k.id).sort()).toEqual([globexAdmin.id, globexViewer.id].sort());
      expect(listed.body.items.every((k: ApiKey) => k.tenant_id === 'globex')).toBe(true);
      expect((await api.request('DELETE', `/api-keys/${defaultKey.id}`, { token: globex })).status).toBe(404);
      expect((await api.request('GET', '/agents', { apiKey: defaultKey.key })).status).toBe(200);

      const audit = await api.request<AuditList>('GET', '/audit', { token: globex });
      expect(audit.body.items.map((entry) => [entry.action, entry.target])).toEqual([['api_key.created', globexViewer.id]]);
      const ownAudit = await api.request<AuditList>('GET', '/audit?limit=500', { token: api.adminToken });
      expect(ownAudit.body.items.some((entry) => entry.tenant_id !== 'default')).toBe(false);
    });

    it('should let only admins of the default tenant create keys for another tenant', async () => {
      const globex = await tokenFor((await key('admin', { tenant_id: 'globex-2' })).key);

      const refused = await api.request('POST', '/api-keys', { token: globex, body: { name: 'escape', role: 'admin', tenant_id: 'default' } });

      expect(refused.status).toBe(403);
      expect((await api.request('POST', '/api-keys', { token: globex, body: { name: 'own', role: 'viewer', tenant_id: 'globex-2' } })).status).toBe(201);
    });
  });

  describe('GET /audit', () => {
    it('should record key and token actions newest first, paged with limit and before', async () => {
      const created = await key('operator');
      const token = await tokenFor(created.key);
      await api.request('POST', '/auth/revoke', { token });
      await api.request('DELETE', `/api-keys/${created.id}`, { token: api.adminToken });

      const page = await api.request<AuditList>('GET', '/audit?limit=3', { token: api.adminToken });
      expect(page.body.items.map((entry) => [entry.action, entry.actor])).toEqual([
        ['api_key.revoked', `key:${api.adminKey.split('_')[1]}`],
        ['token.revoked', `key:${created.prefix}`],
        ['api_key.created', `key:${api.adminKey.split('_')[1]}`],
      ]);
      expect(page.body.items[2]).toMatchObject({ target: created.id, details: { prefix: created.prefix, role: 'operator' }, request_id: expect.any(String) });
      expect(page.body.next_before).toBe(page.body.items[2]?.id);

      const next = await api.request<AuditList>('GET', `/audit?limit=3&before=${page.body.next_before}`, { token: api.adminToken });
      expect(next.body.items.every((entry) => entry.id < (page.body.next_before ?? 0))).toBe(true);
      expect(next.body.items.length).toBeGreaterThan(0);
    });

    // The request context is passed explicitly (no AsyncLocalStorage): each record and the request's log line must
    // still name the request that made them, and the log line who made it.
    it("should stamp each record with the id of the request that made it, and that request's log line with its subject", async () => {
      const id = (name: string) => `${kind}-audit-${name}-${Date.now()}`;
      const ids = { create: id('create'), revoke: id('revoke') };
      const created = await api.request<CreatedApiKey>('POST', '/api-keys', {
        token: api.adminToken,
        headers: { 'x-request-id': ids.create },
        body: { name: 'stamped', role: 'viewer' },
      });
      remember(created.body.key);
      await api.request('DELETE', `/api-keys/${created.body.id}`, { token: api.adminToken, headers: { 'x-request-id': ids.revoke } });

      const page = await api.request<AuditList>('GET', '/audit?limit=2', { token: api.adminToken });
      expect(page.body.items.map((entry) => [entry.action, entry.target, entry.request_id])).toEqual([
        ['api_key.revoked', created.body.id, ids.revoke],
        ['api_key.created', created.body.id, ids.create],
      ]);
      // Written once the response is sent.
      const line = await waitFor(
        () =>
          api.logs
            .filter((text) => text.includes(ids.revoke))
            .map((text) => JSON.parse(text) as { fields: Record<string, unknown> })
            .find((entry) => entry.fields['message'] === 'Request processed'),
        { what: 'the request log line' },
      );
      expect(line.fields).toMatchObject({ request_id: ids.revoke, status: 204, subject: `key:${api.adminKey.split('_')[1]}` });
    });
  });

  it('should never write a key or a token to the JSON log', () => {
    expect(secrets.size).toBeGreaterThan(10);
    const leaked = [...secrets].filter((secret) => api.logs.some((line) => line.includes(secret)));
    expect(leaked).toEqual([]);
    // Also not their secret halves, nor any Bearer header.
    const secretHalves = [...secrets].filter((s) => s.startsWith('sk_')).map((s) => s.slice(14));
    expect(api.logs.some((line) => secretHalves.some((half) => line.includes(half)) || /Bearer /.test(line))).toBe(false);
  });
});
