import { z } from 'zod';

import type { RouteKey } from '../auth/access-policy';
import { OPENAPI_OPERATIONS } from './openapi-routes';
import type { ContentKind, OpenApiTag, OperationDoc, ResponseDoc } from './openapi-routes';
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS, SHARED_SCHEMAS } from './openapi-schemas';

/** A JSON object of the document. */
export type JsonObject = { [key: string]: unknown };

/** The OpenAPI 3.1 document `GET /openapi.json` serves. */
export interface OpenApiDocument extends JsonObject {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, JsonObject>>;
  components: JsonObject & { schemas: Record<string, JsonObject> };
}

/** A generated document and the served routes it could not describe (missing from `OPENAPI_OPERATIONS`). */
export interface OpenApiBuild {
  document: OpenApiDocument;
  undocumented: string[];
}

const API_VERSION = '0.1.0';
// HEAD twins of GET routes (Fastify adds them) are implied by OpenAPI's GET; OPTIONS is never served.
const DOCUMENTED_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const SCHEMA_REF = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': { $ref: '#/components/headers/RateLimit-Limit' },
  'RateLimit-Remaining': { $ref: '#/components/headers/RateLimit-Remaining' },
  'RateLimit-Reset': { $ref: '#/components/headers/RateLimit-Reset' },
};

const TAGS: Record<OpenApiTag, string> = {
  auth: 'Access tokens: exchange an API key, revoke tokens',
  'api-keys': 'API keys (admins)',
  audit: 'The audit log of security-relevant actions (admins)',
  agents: 'Agents: create, list, read, change, delete',
  runs: 'Runs: start, wait, observe, stream, cancel, redrive',
  memory: 'Per-agent key-value memory of JSON values',
  mesh: 'Messages between agents over the mesh, presence, dead letters',
  tools: 'Tools agents can call',
  operations: 'Probes and metrics (no credentials, never rate limited)',
  debug: 'Profiling of a replica, when SKREAVER_ENABLE_PROFILING=true (admins)',
  docs: 'This document and its Swagger UI (no credentials)',
};

/**
 * Builds the OpenAPI 3.1 document of the routes the app serves: each route is looked up in `operations` (the
 * explicit table) for its schemas, which come from the contracts through `z.toJSONSchema`.
 */
export function buildOpenApiDocument(routes: readonly RouteKey[], operations: Readonly<Record<string, OperationDoc>> = OPENAPI_OPERATIONS): OpenApiBuild {
  const paths: Record<string, Record<string, JsonObject>> = {};
  const undocumented: string[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.url}`;
    if (!DOCUMENTED_METHODS.has(route.method) || seen.has(key)) continue;
    seen.add(key);
    const doc = operations[key];
    if (!doc) {
      undocumented.push(key);
      continue;
    }
    const path = openApiPath(route.url);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route, doc) };
  }
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    document: {
      openapi: '3.1.0',
      info: {
        title: 'Skreaver agent-api',
        version: API_VERSION,
        description:
          'Hosts AI agents and runs them. Every error answers `{"error", "message", "details"?, "request_id"}` with a stable code. ' +
          'Rate-limited answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.',
      },
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
      paths: sortedPaths,
      components: {
        schemas: componentSchemas(),
        responses: sharedResponses(),
        headers: sharedHeaders(),
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An access token from `POST /auth/token`, or an API key (`sk_…`) itself',
          },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`sk_…`)' },
        },
      },
    },
    undocumented,
  };
}

/** `/agents/:id/memory/:key` → `/agents/{id}/memory/{key}`; a trailing wildcard `*` becomes `{path}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

function operation(route: RouteKey, doc: OperationDoc): JsonObject {
  const body = doc.body
    ? { requestBody: { required: doc.body.required, content: { 'application/json': { schema: SCHEMA_REF(doc.body.schema) } } } }
    : {};
  const security = doc.access === 'public' ? { security: [] } : doc.access === 'api-key' ? { security: [{ bearerAuth: [] }, { apiKeyHeader: [] }, {}] } : {};
  const parameters = [...pathParameters(route.url, doc), ...queryParameters(doc), ...headerParameters(doc)];
  return {
    operationId: operationId(route),
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    ...security,
    ...(parameters.length ? { parameters } : {}),
    ...body,
    responses: responses(doc),
  };
}

function operationId(route: RouteKey): string {
  const words = route.url.split(/[/:*.-]+/).filter(Boolean);
  return route.method.toLowerCase() + words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
}

function pathParameters(url: string, doc: OperationDoc): JsonObject[] {
  const properties = doc.params ? propertiesOf(doc.params) : { properties: {}, required: [] };
  const names = [...openApiPath(url).matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
  return names.map((name) => ({ name, in: 'path', required: true, schema: properties.properties[name] ?? { type: 'string' } }));
}

function queryParameters(doc: OperationDoc): JsonObject[] {
  if (!doc.query) return [];
  const { properties, required } = propertiesOf(doc.query);
  return Object.entries(properties).map(([name, schema]) => ({ name, in: 'query', required: required.includes(name), schema }));
}

function headerParameters(doc: OperationDoc): JsonObject[] {
  return (doc.headers ?? []).map((header) => ({
    name: header.name,
    in: 'header',
    required: false,
    description: header.description,
    schema: jsonSchema(header.schema, 'input'),
  }));
}

function propertiesOf(schema: z.ZodType): { properties: Record<string, JsonObject>; required: string[] } {
  const converted = jsonSchema(schema, 'input');
  const properties = isObject(converted['properties']) ? converted['properties'] : {};
  const required = Array.isArray(converted['required']) ? converted['required'].filter((name): name is string => typeof name === 'string') : [];
  return {
    properties: Object.fromEntries(Object.entries(properties).filter((entry): entry is [string, JsonObject] => isObject(entry[1]))),
    required,
  };
}

function responses(doc: OperationDoc): JsonObject {
  const limited = !doc.unlimited;
  const out: Record<string, JsonObject> = {};
  for (const [status, response] of Object.entries(doc.responses)) out[status] = successResponse(response, limited);

  const errors: Record<number, string> = {};
  if (doc.params || doc.query || doc.body || doc.headers) errors[400] = '`validation_failed` (with field paths) or `invalid_json`';
  if (doc.body) {
    errors[413] = '`payload_too_large`: the body exceeds `SKREAVER_MAX_BODY_SIZE`';
    errors[415] = '`unsupported_media_type`: bodies are `application/json`';
  }
  if (doc.access !== 'public') errors[401] = '`unauthorized`: missing, malformed, expired, revoked or wrongly signed credential';
  if (doc.access === 'credential') errors[403] = '`forbidden`: the role may not call this route';
  Object.assign(errors, doc.errors);
  for (const [status, description] of Object.entries(errors)) out[status] ??= errorResponse(description);
  if (!doc.unlimited) {
    out['429'] ??= { $ref: '#/components/responses/RateLimited' };
    out['503'] ??= { $ref: '#/components/responses/Unavailable' };
  }
  out['500'] ??= { $ref: '#/components/responses/InternalError' };
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function successResponse(response: ResponseDoc, limited: boolean): JsonObject {
  const kind: ContentKind | undefined = response.content ?? (response.schema ? 'json' : undefined);
  const content: Record<string, JsonObject> = {};
  if (kind === 'json') content['application/json'] = { schema: response.schema ? SCHEMA_REF(response.schema) : { type: 'object' } };
  if (kind === 'event-stream' || response.stream) content['text/event-stream'] = { schema: { type: 'string' } };
  if (kind === 'prometheus') content['text/plain'] = { schema: { type: 'string' } };
  if (kind === 'html') content['text/html'] = { schema: { type: 'string' } };
  if (kind === 'binary') content['application/octet-stream'] = { schema: { type: 'string', contentMediaType: 'application/octet-stream' } };
  if (kind === 'asset') {
    for (const type of ['text/javascript', 'text/css', 'image/png']) content[type] = { schema: { type: 'string' } };
  }
  return {
    description: response.description,
    ...(limited ? { headers: RATE_LIMIT_HEADERS } : {}),
    ...(Object.keys(content).length ? { content } : {}),
  };
}

function errorResponse(description: string): JsonObject {
  return { description, content: { 'application/json': { schema: SCHEMA_REF('ApiErrorBody') } } };
}

function sharedResponses(): JsonObject {
  const retryAfter = { $ref: '#/components/headers/Retry-After' };
  return {
    RateLimited: {
      description: '`rate_limited`: too many requests from this client address or credential',
      headers: { ...RATE_LIMIT_HEADERS, 'Retry-After': retryAfter },
      content: { 'application/json': { schema: SCHEMA_REF('ApiErrorBody') } },
    },
    Unavailable: {
      description:
        '`overloaded` (the replica is at `SKREAVER_MAX_IN_FLIGHT`; `Retry-After: 1`), or a dependency is down: ' +
        '`database_unavailable`, `redis_unavailable`, `queue_unavailable`. Retry later.',
      headers: { 'Retry-After': retryAfter },
      content: { 'application/json': { schema: SCHEMA_REF('ApiErrorBody') } },
    },
    InternalError: {
      description: '`internal_error`: a bug; the details are in the server log under the `request_id`',
      content: { 'application/json': { schema: SCHEMA_REF('ApiErrorBody') } },
    },
  };
}

function sharedHeaders(): JsonObject {
  const integer = { type: 'integer', minimum: 0 };
  return {
    'RateLimit-Limit': { description: 'Requests allowed per window by the most restrictive limit applied', schema: integer },
    'RateLimit-Remaining': { description: 'Requests left right now under that limit', schema: integer },
    'RateLimit-Reset': { description: 'Seconds until that limit is fully available again', schema: integer },
    'Retry-After': { description: 'Seconds to wait before retrying', schema: integer },
  };
}

/** Every request and response schema, converted from the contracts; shared parts (JSON values) by reference. */
function componentSchemas(): Record<string, JsonObject> {
  return { ...convertAll(REQUEST_SCHEMAS, 'input'), ...convertAll(RESPONSE_SCHEMAS, 'output') };
}

function convertAll(schemas: Readonly<Record<string, z.ZodType>>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries({ ...SHARED_SCHEMAS, ...schemas })) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    // Transforms (e.g. `status=dead` → `failed`) have no JSON Schema; their input side is what clients send.
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(Object.entries(converted.schemas).map(([id, schema]) => [id, withoutIdentity(schema)]));
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  return withoutIdentity(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }));
}

// `$schema` is implied by OpenAPI 3.1, and a fragment `$id` inside components is invalid JSON Schema.
function withoutIdentity(schema: JsonObject): JsonObject {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
