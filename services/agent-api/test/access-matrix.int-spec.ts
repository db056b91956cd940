import type { ApiErrorBody, Role } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { ApiResponse, BootedAgentApi, RouteInfo } from './agent-api.harness';

type Identity = 'anonymous' | Role;
type Expected = 'allowed' | 401 | 403;

// The rules as the product states them, written independently of the access policy table they check.
const PROBES = new Set([
  'GET /health', 'HEAD /health', 'GET /ready', 'HEAD /ready', 'GET /metrics', 'HEAD /metrics',
  // The API docs are public too: everything but the probes, /docs and /openapi.json needs a credential.
  'GET /openapi.json', 'HEAD /openapi.json', 'GET /docs', 'HEAD /docs', 'GET /docs/*', 'HEAD /docs/*',
  // The web console's files (its API calls carry the token).
  'GET /console', 'HEAD /console', 'GET /console/config.json', 'HEAD /console/config.json', 'GET /console/*', 'HEAD /console/*',
]);
const TOKEN_EXCHANGE = 'POST /auth/token';
const isAdminArea = (route: RouteInfo) =>
  route.url === '/api-keys' || route.url.startsWith('/api-keys/') || route.url === '/audit' || route.url === '/auth/revoke-all';
const isRead = (route: RouteInfo) => route.method === 'GET' || route.method === 'HEAD';
// Revoking one's own token only removes access, so read-only callers may log out too.
const isSelfService = (route: RouteInfo) => route.method === 'POST' && route.url === '/auth/revoke';

function expected(identity: Identity, route: RouteInfo): Expected {
  const key = `${route.method} ${route.url}`;
  if (PROBES.has(key)) return 'allowed';
  // The exchange is public, but it is itself an authentication: with no key there is nothing to exchange.
  if (key === TOKEN_EXCHANGE) return identity === 'anonymous' ? 401 : 'allowed';
  if (identity === 'anonymous') return 401;
  if (identity === 'admin') return 'allowed';
  if (isAdminArea(route)) return 403;
  if (identity === 'operator') return 'allowed';
  return isRead(route) || isSelfService(route) ? 'allowed' : 403;
}

// Ids nothing exists under: allowed callers get 404 or 400, never a side effect on real data.
function concretePath(url: string): string {
  return url.replace(/:id/g, '00000000-0000-4000-8000-000000000000').replace(/:key/g, 'nothing').replace(/\*/g, 'nothing');
}

describe.each(DATABASE_KINDS)('access to every route of agent-api on %s', (kind) => {
  let api: BootedAgentApi;
  const keys: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    api = await bootAgentApi(kind);
    keys.admin = api.adminKey;
    keys.operator = (await api.createKey('operator')).key;
    keys.viewer = (await api.createKey('viewer')).key;
  });

  afterAll(async () => {
    await api?.close();
  });

  // API keys rather than tokens: an admin's POST /auth/revoke-all in the sweep would otherwise kill the tokens.
  function call(identity: Identity, route: RouteInfo): Promise<ApiResponse<ApiErrorBody | undefined>> {
    const writes = !isRead(route);
    return api.request<ApiErrorBody | undefined>(route.method, concretePath(route.url), {
      ...(identity === 'anonymous' ? {} : { apiKey: keys[identity] }),
      ...(writes && route.method !== 'DELETE' ? { body: {} } : {}),
    });
  }

  it('should serve the routes this matrix expects, and a rule or an explicit public mark for each', async () => {
    const served = api.routes.map((route) => `${route.method} ${route.url}`);
    expect(served).toEqual(expect.arrayContaining(['POST /auth/token', 'GET /api-keys', 'GET /audit', 'POST /agents', 'GET /metrics']));

    // An admin may call everything: a 403 here means the route has no access rule (the guard closes it).
    const unruled: string[] = [];
    for (const route of api.routes) {
      if ((await call('admin', route)).status === 403) unruled.push(`${route.method} ${route.url}`);
    }
    expect(unruled).toEqual([]);
  });

  it.each<Identity>(['anonymous', 'viewer', 'operator', 'admin'])('should answer %s on every route as the role rules say', async (identity) => {
    const mismatches: string[] = [];
    for (const route of api.routes) {
      const response = await call(identity, route);
      const want = expected(identity, route);
      const got = response.status === 401 || response.status === 403 ? response.status : 'allowed';
      if (got !== want) mismatches.push(`${route.method} ${route.url}: expected ${want}, got ${response.status}`);
      if (response.status === 401) {
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
        if (route.method !== 'HEAD') expect(response.body?.error).toBe('unauthorized');
      }
      if (response.status === 403 && route.method !== 'HEAD') expect(response.body?.error).toBe('forbidden');
    }
    expect(mismatches).toEqual([]);
  });
});
