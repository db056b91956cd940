import type { Agent, ApiErrorBody, Run, Thread } from '@skreaver/contracts';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

type Json = { [key: string]: unknown };

interface Document extends Json {
  openapi: string;
  paths: Record<string, Record<string, Json & { parameters?: Json[]; responses: Record<string, Json> }>>;
  components: Json & { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

const OPERATION_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every `$ref` in `value`. */
function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => refsIn(item, found));
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') found.push(child);
      else refsIn(child, found);
    }
  }
  return found;
}

/** Follows a local JSON pointer (`#/components/schemas/Agent`) in `document`. */
function resolve(document: unknown, ref: string): unknown {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Json)[part] : undefined), document);
}

describe('the OpenAPI document and Swagger UI', () => {
  let api: BootedAgentApi;
  let document: Document;

  beforeAll(async () => {
    api = await bootAgentApi('sqlite');
    // Anonymously: the document and the docs are public.
    const response = await api.request<Document>('GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    document = response.body;
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should describe every route the app serves, and only those', () => {
    const served = api.routes.filter((route) => route.method !== 'HEAD');
    const key = (method: string, url: string) => `${method.toUpperCase()} ${url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{path}')}`;
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => OPERATION_METHODS.includes(method))
        .map((method) => key(method, path)),
    );

    // A route served outside Nest (or excluded from the document) fails here.
    expect(served.map((route) => key(route.method, route.url)).filter((route) => !documented.includes(route))).toEqual([]);
    expect(documented.filter((route) => !served.some((candidate) => key(candidate.method, candidate.url) === route))).toEqual([]);
  });

  it('should be OpenAPI 3.1 with resolvable references, declared path parameters and the error body on errors', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const unresolved = refsIn(document).filter((ref) => !ref.startsWith('#/') || resolve(document, ref) === undefined);
    expect([...new Set(unresolved)]).toEqual([]);

    for (const [path, operations] of Object.entries(document.paths)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        const declared = (operation.parameters ?? []).filter((parameter) => parameter['in'] === 'path');
        expect({ where, params: declared.map((parameter) => parameter['name']).sort() }).toEqual({ where, params: [...templated].sort() });
        expect(declared.every((parameter) => parameter['required'] === true)).toBe(true);
        const statuses = Object.keys(operation.responses);
        expect({ where, success: statuses.some((status) => /^2\d\d$/.test(status)) }).toEqual({ where, success: true });
        for (const status of statuses.filter((candidate) => /^[45]/.test(candidate) && !(path === '/ready' && candidate === '503'))) {
          const response = operation.responses[status] as Json;
          const body = typeof response['$ref'] === 'string' ? (resolve(document, response['$ref']) as Json) : response;
          expect({ where, status, schema: refsIn(body['content']) }).toEqual({ where, status, schema: ['#/components/schemas/ApiErrorBody'] });
        }
      }
    }
  });

  it('should declare the bearer and X-API-Key schemes, and no credential for probes and docs', () => {
    expect(document.components.securitySchemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer' },
      apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    });
    expect(document['security']).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    for (const path of ['/health', '/ready', '/metrics', '/openapi.json', '/docs']) expect(document.paths[path]?.['get']?.['security']).toEqual([]);
    expect(document.paths['/agents']?.['post']?.['security']).toBeUndefined();
  });

  it('should have component schemas that compile and that real answers satisfy', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'https://skreaver.local/openapi.json', components: document.components });
    const validator = (name: string) => ajv.getSchema(`https://skreaver.local/openapi.json#/components/schemas/${name}`);
    for (const name of Object.keys(document.components.schemas)) expect({ name, compiles: validator(name) !== undefined }).toEqual({ name, compiles: true });

    const created = await api.request<Agent>('POST', '/agents', { token: api.adminToken, body: { name: 'documented', kind: 'echo' } });
    const validateAgent = validator('Agent');
    expect(validateAgent?.(created.body) ? [] : validateAgent?.errors).toEqual([]);
    // A run's nullable scalars (no Idempotency-Key, not a thread turn, not started) once came out as arrays.
    const run = await api.request<Run>('POST', `/agents/${created.body.id}/runs`, { token: api.adminToken, body: { input: 'hi' } });
    expect(run.body).toMatchObject({ idempotency_key: null, thread_id: null, started_at: null });
    const validateRun = validator('Run');
    expect(validateRun?.(run.body) ? [] : validateRun?.errors).toEqual([]);
    expect(resolve(document, '#/components/schemas/Run/properties/idempotency_key')).toEqual({ anyOf: [{ type: 'string' }, { type: 'null' }] });
    const thread = await api.request<Thread>('POST', '/threads', { token: api.adminToken, body: { agent_id: created.body.id } });
    const validateThread = validator('Thread');
    expect(validateThread?.(thread.body) ? [] : validateThread?.errors).toEqual([]);
    const missing = await api.request<ApiErrorBody>('GET', `/agents/00000000-0000-4000-8000-000000000000`, { token: api.adminToken });
    const validateError = validator('ApiErrorBody');
    expect(validateError?.(missing.body) ? [] : validateError?.errors).toEqual([]);
  });

  it('should serve Swagger UI at /docs from the package, with the right content types and no CDN', async () => {
    const page = await api.request<string>('GET', '/docs');
    const html = page.body;
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('<div id="swagger-ui">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);

    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-initializer.js']));
    const types: Record<string, RegExp> = { css: /^text\/css/, js: /^text\/javascript/, png: /^image\/png$/ };
    for (const asset of assets) {
      const response = await api.request<string>('GET', asset);
      expect({ asset, status: response.status, type: types[asset.split('.').pop() ?? '']?.test(response.headers.get('content-type') ?? '') }).toEqual({
        asset,
        status: 200,
        type: true,
      });
      expect(response.body.length).toBeGreaterThan(0);
    }
    const initializer = (await api.request<string>('GET', '/docs/swagger-initializer.js')).body;
    expect(initializer).toContain("url: '/openapi.json'");
  });

  it('should answer 404 in the error format for anything else under /docs', async () => {
    for (const path of ['/docs/nothing.js', '/docs/swagger-ui-bundle.js.map', '/docs/%2e%2e%2fpackage.json']) {
      const response = await api.request<ApiErrorBody>('GET', path);
      expect({ path, status: response.status, error: response.body.error }).toEqual({ path, status: 404, error: 'not_found' });
    }
  });
});
