import {
  AgentIdParams,
  ApiKeyIdParams,
  ApiKeyListQuery,
  AuditQuery,
  CreateRunQuery,
  IdempotencyKey,
  ListAgentsQuery,
  MemoryEntryParams,
  MemoryListQuery,
  MeshDeadLetterParams,
  MeshDeadLetterQuery,
  RunEventsQuery,
  RunIdParams,
  RunSearchQuery,
} from '@skreaver/contracts';
import { MAX_PROFILE_SECONDS } from '@skreaver/profiling';
import { z } from 'zod';

import type { RequestSchemaName, ResponseSchemaName } from './openapi-schemas';

/** Groups of operations in the docs. */
export type OpenApiTag = 'auth' | 'api-keys' | 'audit' | 'agents' | 'runs' | 'memory' | 'mesh' | 'tools' | 'operations' | 'debug' | 'docs';

/** How an operation is authenticated. */
export type OperationAccess =
  /** A token or an API key (`Authorization: Bearer …` or `X-API-Key`); 401/403 possible. */
  | 'credential'
  /** An API key in a header or the body: the token exchange. */
  | 'api-key'
  /** Nothing; probes and docs. */
  | 'public';

/** The media type of a response body. */
export type ContentKind = 'json' | 'event-stream' | 'prometheus' | 'html' | 'asset' | 'binary';

/** One documented answer. */
export interface ResponseDoc {
  description: string;
  schema?: ResponseSchemaName;
  /** Default `json` when a schema is given, no body otherwise. */
  content?: ContentKind;
  /** Also answered as server-sent events, when the client asks with `Accept: text/event-stream`. */
  stream?: boolean;
}

/** A request header the operation reads. */
export interface HeaderDoc {
  name: string;
  description: string;
  schema: z.ZodType;
}

/** Everything the generator needs to know about one route that its Fastify registration does not say. */
export interface OperationDoc {
  summary: string;
  description?: string;
  tag: OpenApiTag;
  access: OperationAccess;
  /** Path parameters; every `{name}` of the path must be a property. */
  params?: z.ZodObject;
  query?: z.ZodType;
  headers?: readonly HeaderDoc[];
  body?: { schema: RequestSchemaName; required: boolean };
  responses: Readonly<Record<number, ResponseDoc>>;
  /** Errors particular to the operation; validation, auth, rate-limit, overload and 500 answers are added to all. */
  errors?: Readonly<Record<number, string>>;
  /** Probes are never rate limited nor refused as overloaded. */
  unlimited?: boolean;
}

// RunsController's `?limit=` of GET /agents/{id}/runs (declared there, not in contracts).
const RunListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });
// ProfilingController's `?seconds=` (declared in libs/profiling, not in contracts).
const CpuProfileQuery = z.strictObject({ seconds: z.coerce.number().int().min(1).max(MAX_PROFILE_SECONDS).default(10) });
const DocsAssetParams = z.object({ path: z.string().describe('a file of the bundled Swagger UI, e.g. swagger-ui.css') });

const AGENT_NOT_FOUND = { 404: 'No such agent in the caller\'s tenant' };
const RUN_NOT_FOUND = { 404: 'No such run in the caller\'s tenant' };
const MESH_DISABLED = { 503: '`mesh_disabled` in direct mode (`SKREAVER_MESH_ENABLED=false`), or a dependency is down' };
const EVENT_STREAM_NOTE =
  'With `Accept: text/event-stream`: server-sent events (`id`, `event`, `data` per event, keep-alive comments), resumable with `Last-Event-ID`.';

/**
 * The documentation of every agent-api route, keyed `METHOD /fastify/url` as Fastify registered it. The document
 * is generated from the routes the app actually serves, each looked up here: a served route missing from this
 * table is left out of `/openapi.json`, logged at start, and fails the OpenAPI integration test.
 */
export const OPENAPI_OPERATIONS: Readonly<Record<string, OperationDoc>> = {
  'POST /auth/token': {
    summary: 'Exchange an API key for an access token',
    description: 'The key goes in `Authorization: Bearer sk_…`, `X-API-Key`, or the body as `{"api_key"}`. Tokens cannot be exchanged for tokens.',
    tag: 'auth',
    access: 'api-key',
    body: { schema: 'TokenRequest', required: false },
    responses: { 200: { description: 'A signed HS256 JWT', schema: 'TokenResponse' } },
  },
  'POST /auth/revoke': {
    summary: 'Revoke the calling token (any role), or as an admin any token of the same tenant',
    tag: 'auth',
    access: 'credential',
    body: { schema: 'RevokeRequest', required: false },
    responses: { 204: { description: 'Revoked (or already expired)' } },
  },
  'POST /auth/revoke-all': {
    summary: 'Revoke every token of the tenant issued until now',
    tag: 'auth',
    access: 'credential',
    responses: { 204: { description: 'Every earlier token of the tenant now answers 401' } },
  },

  'POST /api-keys': {
    summary: 'Create an API key (shown once)',
    tag: 'api-keys',
    access: 'credential',
    body: { schema: 'CreateApiKeyRequest', required: true },
    responses: { 201: { description: 'The key, with its secret `key` shown this once', schema: 'CreatedApiKey' } },
  },
  'GET /api-keys': {
    summary: 'List the tenant\'s API keys',
    tag: 'api-keys',
    access: 'credential',
    query: ApiKeyListQuery,
    responses: { 200: { description: 'Keys, never their secrets', schema: 'ApiKeyList' } },
  },
  'DELETE /api-keys/:id': {
    summary: 'Revoke an API key and every token minted from it',
    tag: 'api-keys',
    access: 'credential',
    params: ApiKeyIdParams,
    responses: { 204: { description: 'Revoked' } },
    errors: { 404: 'No such key in the caller\'s tenant' },
  },
  'GET /audit': {
    summary: 'Read the tenant\'s audit log, newest first',
    tag: 'audit',
    access: 'credential',
    query: AuditQuery,
    responses: { 200: { description: 'A page of entries; pass `next_before` as `before`', schema: 'AuditList' } },
  },

  'POST /agents': {
    summary: 'Create an agent',
    description: 'The config is checked against the kind\'s schema.',
    tag: 'agents',
    access: 'credential',
    body: { schema: 'CreateAgentRequest', required: true },
    responses: { 201: { description: 'The agent', schema: 'Agent' } },
  },
  'GET /agents': {
    summary: 'List agents, newest first',
    tag: 'agents',
    access: 'credential',
    query: ListAgentsQuery,
    responses: { 200: { description: 'A page; pass `next_cursor` as `cursor`', schema: 'AgentList' } },
  },
  'GET /agents/:id': {
    summary: 'Read an agent',
    tag: 'agents',
    access: 'credential',
    params: AgentIdParams,
    responses: { 200: { description: 'The agent', schema: 'Agent' } },
    errors: AGENT_NOT_FOUND,
  },
  'GET /agents/:id/status': {
    summary: 'What an agent is doing and how much work waits for it',
    tag: 'agents',
    access: 'credential',
    params: AgentIdParams,
    responses: { 200: { description: 'Status and queue depth', schema: 'AgentStatusReport' } },
    errors: AGENT_NOT_FOUND,
  },
  'PATCH /agents/:id': {
    summary: 'Change an agent\'s name, config or concurrency policy',
    tag: 'agents',
    access: 'credential',
    params: AgentIdParams,
    body: { schema: 'UpdateAgentRequest', required: true },
    responses: { 200: { description: 'The updated agent', schema: 'Agent' } },
    errors: AGENT_NOT_FOUND,
  },
  'DELETE /agents/:id': {
    summary: 'Delete an agent (cancels its queued runs, deletes its memory)',
    tag: 'agents',
    access: 'credential',
    params: AgentIdParams,
    responses: { 204: { description: 'Deleted' } },
    errors: AGENT_NOT_FOUND,
  },

  'POST /agents/:id/runs': {
    summary: 'Start a run',
    description: 'With `?wait=N`, waits up to N seconds: 200 with the finished run, or 202 if it is still going.',
    tag: 'runs',
    access: 'credential',
    params: AgentIdParams,
    query: CreateRunQuery,
    headers: [
      {
        name: 'Idempotency-Key',
        description: 'Same key and body: the first run again (`Idempotency-Replayed: true`); same key, other body: 422',
        schema: IdempotencyKey,
      },
    ],
    body: { schema: 'CreateRunRequest', required: true },
    responses: {
      200: { description: 'The run finished within `wait`', schema: 'Run' },
      202: { description: 'The run, queued or still running', schema: 'Run' },
    },
    errors: { ...AGENT_NOT_FOUND, 409: '`agent_busy`: the agent\'s policy is `reject` and it is working', 422: '`idempotency_key_reused` with another body' },
  },
  'POST /agents/:id/observe': {
    summary: 'Run the agent and answer with its output',
    tag: 'runs',
    access: 'credential',
    params: AgentIdParams,
    body: { schema: 'ObserveRequest', required: true },
    responses: { 200: { description: 'The output, in upstream Skreaver\'s shape', schema: 'ObserveResponse' } },
    errors: { ...AGENT_NOT_FOUND, 409: '`agent_busy`', 502: '`run_failed`: the run failed or was cancelled', 504: '`run_timeout`: no result in time (the run goes on)' },
  },
  'POST /agents/:id/observe/stream': {
    summary: 'Run the agent and stream its events until the run ends',
    tag: 'runs',
    access: 'credential',
    params: AgentIdParams,
    body: { schema: 'ObserveRequest', required: true },
    responses: { 200: { description: 'Server-sent events, one per run event (`RunEvent` in `data`)', content: 'event-stream' } },
    errors: { ...AGENT_NOT_FOUND, 409: '`agent_busy`' },
  },
  'POST /agents/:id/batch': {
    summary: 'Run the agent once per input and answer with every outcome',
    tag: 'runs',
    access: 'credential',
    params: AgentIdParams,
    body: { schema: 'BatchRequest', required: true },
    responses: { 200: { description: 'One item per input, in input order', schema: 'BatchResponse' } },
    errors: AGENT_NOT_FOUND,
  },
  'GET /agents/:id/runs': {
    summary: 'List an agent\'s runs, newest first',
    tag: 'runs',
    access: 'credential',
    params: AgentIdParams,
    query: RunListQuery,
    responses: { 200: { description: 'Runs', schema: 'RunList' } },
    errors: AGENT_NOT_FOUND,
  },
  'GET /runs': {
    summary: 'List the tenant\'s runs; `?status=failed` is the dead-letter list',
    tag: 'runs',
    access: 'credential',
    query: RunSearchQuery,
    responses: { 200: { description: 'Runs, newest first', schema: 'RunList' } },
  },
  'GET /runs/:id': {
    summary: 'Read a run',
    tag: 'runs',
    access: 'credential',
    params: RunIdParams,
    responses: { 200: { description: 'The run', schema: 'Run' } },
    errors: RUN_NOT_FOUND,
  },
  'GET /runs/:id/events': {
    summary: 'Read a run\'s event log, or follow it live',
    description: EVENT_STREAM_NOTE,
    tag: 'runs',
    access: 'credential',
    params: RunIdParams,
    query: RunEventsQuery,
    headers: [{ name: 'Last-Event-ID', description: 'Resume a stream after this event id (wins over `after`)', schema: z.string().max(128) }],
    responses: { 200: { description: 'A page of events, oldest first; or a stream of them', schema: 'RunEventsPage', stream: true } },
    errors: RUN_NOT_FOUND,
  },
  'POST /runs/:id/cancel': {
    summary: 'Cancel a run',
    tag: 'runs',
    access: 'credential',
    params: RunIdParams,
    body: { schema: 'CancelRunRequest', required: false },
    responses: {
      200: { description: 'Cancelled at once (it was queued)', schema: 'Run' },
      202: { description: 'Its coordinator was asked to abort it', schema: 'Run' },
    },
    errors: { ...RUN_NOT_FOUND, 409: 'The run already finished' },
  },
  'POST /runs/:id/redrive': {
    summary: 'Start a new run with a failed run\'s input',
    tag: 'runs',
    access: 'credential',
    params: RunIdParams,
    responses: { 202: { description: 'The new run, linked by `redriven_from`', schema: 'RedrivenRun' } },
    errors: { ...RUN_NOT_FOUND, 409: 'The run did not fail' },
  },

  'GET /agents/:id/memory': {
    summary: 'List an agent\'s memory entries in key order',
    tag: 'memory',
    access: 'credential',
    params: AgentIdParams,
    query: MemoryListQuery,
    responses: { 200: { description: 'A page; pass `next_after` as `after`', schema: 'MemoryPage' } },
    errors: AGENT_NOT_FOUND,
  },
  'GET /agents/:id/memory/:key': {
    summary: 'Read a memory entry',
    tag: 'memory',
    access: 'credential',
    params: MemoryEntryParams,
    responses: { 200: { description: 'The entry', schema: 'MemoryEntry' } },
    errors: { 404: 'No such agent, or no live entry under the key' },
  },
  'PUT /agents/:id/memory/:key': {
    summary: 'Create or replace a memory entry',
    tag: 'memory',
    access: 'credential',
    params: MemoryEntryParams,
    body: { schema: 'PutMemoryRequest', required: true },
    responses: { 200: { description: 'The stored entry', schema: 'MemoryEntry' } },
    errors: { ...AGENT_NOT_FOUND, 409: '`memory_full`: the agent holds the most keys allowed', 413: '`memory_value_too_large`' },
  },
  'DELETE /agents/:id/memory/:key': {
    summary: 'Delete a memory entry',
    tag: 'memory',
    access: 'credential',
    params: MemoryEntryParams,
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: 'No such agent, or no live entry under the key' },
  },

  'POST /mesh/messages': {
    summary: 'Send a message to an agent, a topic, or every agent',
    description: 'Exactly one of `to`, `topic` or `broadcast: true`. With `wait_seconds` (unicast only), waits for the reply.',
    tag: 'mesh',
    access: 'credential',
    body: { schema: 'PostMeshMessageRequest', required: true },
    responses: {
      200: { description: 'The reply arrived within `wait_seconds`', schema: 'PostMeshMessageResponse' },
      202: { description: 'Accepted for delivery', schema: 'PostMeshMessageResponse' },
    },
    errors: {
      404: 'No such agent to send to',
      429: '`mesh_backpressure`: the recipient\'s inbox is full; or `rate_limited`',
      504: '`mesh_timeout`: no reply within `wait_seconds`',
      ...MESH_DISABLED,
    },
  },
  'GET /mesh/presence': {
    summary: 'Coordinators and agents seen on the mesh recently, with their load',
    tag: 'mesh',
    access: 'credential',
    responses: { 200: { description: 'Live participants', schema: 'MeshPresenceList' } },
    errors: MESH_DISABLED,
  },
  'GET /mesh/dead-letters': {
    summary: 'Mesh messages the coordinators gave up on',
    tag: 'mesh',
    access: 'credential',
    query: MeshDeadLetterQuery,
    responses: { 200: { description: 'Dead letters of the tenant, newest first', schema: 'MeshDeadLetterList' } },
    errors: MESH_DISABLED,
  },
  'POST /mesh/dead-letters/:id/redrive': {
    summary: 'Send a dead-lettered mesh message again',
    tag: 'mesh',
    access: 'credential',
    params: MeshDeadLetterParams,
    responses: { 202: { description: 'Sent again', schema: 'PostMeshMessageResponse' } },
    errors: { 404: 'No such dead letter in the caller\'s tenant', ...MESH_DISABLED },
  },
  'DELETE /mesh/dead-letters/:id': {
    summary: 'Discard a dead-lettered mesh message',
    tag: 'mesh',
    access: 'credential',
    params: MeshDeadLetterParams,
    responses: { 204: { description: 'Discarded' } },
    errors: { 404: 'No such dead letter in the caller\'s tenant', ...MESH_DISABLED },
  },

  'GET /tools': {
    summary: 'List the tools agents can call, with their input schemas',
    tag: 'tools',
    access: 'credential',
    responses: { 200: { description: 'Tools in name order', schema: 'ToolList' } },
  },

  'GET /health': {
    summary: 'Liveness: answers while the process runs (no I/O)',
    tag: 'operations',
    access: 'public',
    unlimited: true,
    responses: { 200: { description: 'Alive', schema: 'HealthReport' } },
  },
  'GET /ready': {
    summary: 'Readiness: every dependency with its status and latency',
    tag: 'operations',
    access: 'public',
    unlimited: true,
    responses: {
      200: { description: 'Ready', schema: 'ReadinessReport' },
      503: { description: 'A dependency is down, or the replica is draining', schema: 'ReadinessReport' },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    tag: 'operations',
    access: 'public',
    unlimited: true,
    responses: { 200: { description: 'Prometheus text exposition format', content: 'prometheus' } },
  },
  // Served only with SKREAVER_ENABLE_PROFILING=true.
  'GET /debug/profile/cpu': {
    summary: 'Take a CPU profile of this replica (admins, with a token)',
    tag: 'debug',
    access: 'credential',
    query: CpuProfileQuery,
    responses: { 200: { description: 'A `.cpuprofile` (Chrome DevTools format)', content: 'json' } },
    errors: { 409: 'A profile is already being taken' },
  },
  'GET /debug/profile/heap': {
    summary: 'Take a heap snapshot of this replica (admins, with a token)',
    tag: 'debug',
    access: 'credential',
    responses: { 200: { description: 'A `.heapsnapshot`', content: 'binary' } },
  },
  'GET /openapi.json': {
    summary: 'This document',
    tag: 'docs',
    access: 'public',
    responses: { 200: { description: 'OpenAPI 3.1', content: 'json' } },
  },
  'GET /docs': {
    summary: 'Swagger UI for this document',
    tag: 'docs',
    access: 'public',
    responses: { 200: { description: 'The Swagger UI page', content: 'html' } },
  },
  'GET /docs/*': {
    summary: 'A Swagger UI asset',
    tag: 'docs',
    access: 'public',
    params: DocsAssetParams,
    responses: { 200: { description: 'A script, style sheet or icon', content: 'asset' } },
    errors: { 404: 'Not one of the bundled files' },
  },
};
