import { ApiErrorCode } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';
import fc from 'fast-check';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi, RouteInfo } from './agent-api.harness';

// Bounded so the file stays near ten seconds: 30 random requests per route and database, ~3,000 requests in all.
const CASES_PER_ROUTE = 30;
const BODY_LIMIT = 256 * 1024;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PUBLIC_ROUTES = new Set(['GET /health', 'GET /ready', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /docs/*', 'GET /console', 'GET /console/config.json', 'GET /console/*']);
const ERROR_KEYS = new Set(['error', 'message', 'details', 'request_id']);
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON'];
const OTHER_TYPES = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream'];

/** One generated request, and whether it is bad enough that any correct server must refuse it with a 4xx. */
interface BadRequest {
  path: string;
  headers: Record<string, string>;
  body?: string;
  mustRefuse: boolean;
}

const printable = (maxLength: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${maxLength}}$`));
const uuid = fc.uuid();
const notUuid = fc.oneof(
  // No '.', '..' or empty segment: the client's URL parser resolves /agents/../runs to /runs (another, valid route).
  fc.string({ maxLength: 40 }).map(encodeURIComponent).filter((segment) => !['', '.', '..'].includes(segment)),
  fc.constantFrom('.x.', '%', '%00', '%zz', '%E0%A4%A', "'%20OR%201=1--", '00000000-0000-4000-8000-00000000000g', '9'.repeat(300), '-1', 'null', '__proto__', 'constructor'),
);
const scalar = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 30 }));
const FIELDS = ['name', 'kind', 'config', 'concurrency', 'input', 'inputs', 'value', 'ttl_seconds', 'timeout_seconds', 'reason', 'api_key', 'token', 'role', 'tenant_id', 'to', 'topic', 'broadcast', 'payload', 'wait_seconds'];

const jsonBody = fc.oneof(
  // Arbitrary JSON values.
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  // The right field names with wrong types.
  fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), scalar))).map((value) => JSON.stringify(value)),
  // Huge strings, up to a little over the body limit (413 beyond it).
  fc.tuple(fc.constantFrom(...FIELDS), fc.integer({ min: 1_000, max: Math.round(BODY_LIMIT * 1.1) })).map(([field, size]) => JSON.stringify({ [field]: 'x'.repeat(size) })),
  // Deep nesting, within the body limit.
  fc.tuple(fc.constantFrom(...FIELDS), fc.integer({ min: 10, max: 20_000 }), fc.boolean()).map(([field, depth, arrays]) =>
    arrays ? `{"${field}":${'['.repeat(depth)}${']'.repeat(depth)}}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  ),
);
const invalidJson = fc.oneof(
  fc.constantFrom('{', '{"a":}', 'undefined', "{'a':1}", 'NaN', '[1,]', '{"a":1}}', '\u0000', '{"__proto__":', '"\\ud800"x'),
  fc.string({ minLength: 1, maxLength: 50 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }),
);

function requestFor(route: RouteInfo, adminKey: string): fc.Arbitrary<BadRequest> {
  const key = `${route.method} ${route.url}`;
  const isPublic = PUBLIC_ROUTES.has(key);
  const params = route.url.match(/:\w+|\*/g) ?? [];
  // An id that is not a UUID, or a UUID nothing has: either way the route cannot succeed.
  const paramValues = fc.tuple(...params.map((name) => (name === ':id' ? fc.oneof(uuid, notUuid) : notUuid)));
  const query = fc.oneof(
    fc.constant(''),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 4 }).map((entries) => new URLSearchParams(entries).toString()),
    fc.constantFrom('limit=-1', 'limit=1e309', 'limit=abc', 'wait=999999', 'after=%ZZ', 'a[b][c]=1', '&&=&', 'cursor=' + '9'.repeat(500), 'status=dead&status=failed'),
  );
  const credential = isPublic
    ? fc.constant<Record<string, string>>({})
    : fc.oneof(
        { weight: 4, arbitrary: fc.constant<Record<string, string>>({ 'x-api-key': adminKey }) },
        { weight: 1, arbitrary: printable(60).map((value) => ({ authorization: value })) },
        { weight: 1, arbitrary: fc.constant<Record<string, string>>({}) },
      );
  const body = BODY_METHODS.has(route.method)
    ? fc.oneof(
        fc.record({ kind: fc.constant('json' as const), text: jsonBody, type: fc.constantFrom(...JSON_TYPES) }),
        fc.record({ kind: fc.constant('invalid' as const), text: invalidJson, type: fc.constantFrom(...JSON_TYPES) }),
        fc.record({ kind: fc.constant('foreign' as const), text: fc.string({ minLength: 1, maxLength: 100 }), type: fc.constantFrom(...OTHER_TYPES) }),
        fc.record({ kind: fc.constant('odd-type' as const), text: jsonBody, type: printable(40) }),
        fc.constant(undefined),
      )
    : fc.constant(undefined);

  return fc.tuple(paramValues, query, credential, body).map(([values, queryString, headers, sent]) => {
    let path = route.url;
    values.forEach((value, index) => (path = path.replace(params[index] ?? '', value)));
    const authenticated = 'x-api-key' in headers;
    const mustRefuse =
      params.some((name) => name === ':id') ||
      (!isPublic && !authenticated) ||
      sent?.kind === 'invalid' ||
      sent?.kind === 'foreign';
    return {
      path: queryString ? `${path}?${queryString}` : path,
      headers: { ...headers, ...(sent ? { 'content-type': sent.type } : {}) },
      ...(sent ? { body: sent.text } : {}),
      mustRefuse,
    };
  });
}

/** What is wrong with the answer to `request`, or null when it is a proper answer. */
async function problemWith(api: BootedAgentApi, method: string, request: BadRequest): Promise<string | null> {
  const response = await fetch(`${api.url}${request.path}`, { method, headers: request.headers, body: request.body });
  const text = await response.text();
  const where = `${method} ${request.path.slice(0, 120)} -> ${response.status}`;
  if (response.status >= 500) return `${where}: server error ${text.slice(0, 300)}`;
  if (request.mustRefuse && response.status < 400) return `${where}: accepted a request that cannot be valid`;
  if (response.status < 400) return null;
  if (!/^application\/json/.test(response.headers.get('content-type') ?? '')) return `${where}: error body is not JSON`;
  if (/\bat .+:\d+:\d+|node_modules/.test(text)) return `${where}: stack trace in the answer`;
  const body = JSON.parse(text) as Record<string, unknown>;
  const shaped =
    Object.keys(body).every((field) => ERROR_KEYS.has(field)) &&
    ApiErrorCode.safeParse(body['error']).success &&
    typeof body['message'] === 'string' &&
    body['request_id'] === response.headers.get('x-request-id');
  return shaped ? null : `${where}: not the error format: ${text.slice(0, 300)}`;
}

describe.each(DATABASE_KINDS)('bad input on every route of agent-api on %s', (kind) => {
  let api: BootedAgentApi;

  beforeAll(async () => {
    api = await bootAgentApi(kind, {
      SKREAVER_MAX_BODY_SIZE: String(BODY_LIMIT),
      // This is a flood from one address and one key; the limiters have tests of their own.
      SKREAVER_RATE_LIMIT_PER_IP: '0',
      SKREAVER_RATE_LIMIT_PER_SUBJECT: '0',
    });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should answer 4xx in the error format, never 5xx or a stack trace, and stay up', async () => {
    // HEAD answers have no body to check; their GET twins are covered.
    const routes = api.routes.filter((route) => route.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const route of routes) {
      try {
        await fc.assert(
          fc.asyncProperty(requestFor(route, api.adminKey), async (request) => {
            const problem = await problemWith(api, route.method, request);
            if (problem) throw new Error(problem);
          }),
          // No shrinking: each step is a request, and the first counterexample already names the input.
          { numRuns: CASES_PER_ROUTE, endOnFailure: true },
        );
      } catch (error) {
        const lines = error instanceof Error ? error.message.split('\n') : [String(error)];
        failures.push(`${route.method} ${route.url}: ${lines.filter((line) => /seed|Counterexample|Got error/.test(line)).join(' ')}`);
      }
    }

    expect(failures).toEqual([]);
    expect((await api.request('GET', '/health')).status).toBe(200);
    expect(api.logs.filter((line) => line.includes('"level":"ERROR"'))).toEqual([]);
  }, 60_000);
});
