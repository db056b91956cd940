import {
  Agent,
  AgentList,
  AgentStatusReport,
  ApiErrorBody,
  ApiKeyList,
  AuditList,
  BatchRequest,
  BatchResponse,
  CancelRunRequest,
  CreateAgentRequest,
  CreateApiKeyRequest,
  CreateRunRequest,
  CreatedApiKey,
  JsonValue,
  MemoryEntry,
  MemoryPage,
  MeshDeadLetterList,
  MeshPresenceList,
  ObserveRequest,
  ObserveResponse,
  PostMeshMessageRequest,
  PostMeshMessageResponse,
  PutMemoryRequest,
  RedrivenRun,
  RevokeRequest,
  Run,
  RunEventsPage,
  RunEventV1,
  RunList,
  TokenRequest,
  TokenResponse,
  ToolList,
  UpdateAgentRequest,
} from '@skreaver/contracts';
import { z } from 'zod';

// The probes' answers come from libs/observability, which has no contract schemas; these describe them for the docs.
const HealthReport = z.object({ status: z.literal('ok'), uptime_s: z.number().int().nonnegative() });
const ReadinessReport = z.object({
  status: z.enum(['ready', 'not_ready']),
  service: z.string(),
  checks: z.record(
    z.string(),
    z.looseObject({ status: z.enum(['up', 'down']), latency_ms: z.number(), error: z.string().optional() }),
  ),
});

/** Request bodies by component name: converted with `io: 'input'` (fields with defaults are optional). */
export const REQUEST_SCHEMAS = {
  CreateAgentRequest,
  UpdateAgentRequest,
  CreateRunRequest,
  ObserveRequest,
  BatchRequest,
  CancelRunRequest,
  PutMemoryRequest,
  CreateApiKeyRequest,
  TokenRequest,
  RevokeRequest,
  PostMeshMessageRequest,
} as const;

/** Response bodies by component name: converted with `io: 'output'` (what the API actually sends). */
export const RESPONSE_SCHEMAS = {
  Agent,
  AgentList,
  AgentStatusReport,
  Run,
  RunList,
  RedrivenRun,
  RunEventsPage,
  RunEvent: RunEventV1,
  ObserveResponse,
  BatchResponse,
  MemoryEntry,
  MemoryPage,
  CreatedApiKey,
  ApiKeyList,
  AuditList,
  TokenResponse,
  ToolList,
  PostMeshMessageResponse,
  MeshPresenceList,
  MeshDeadLetterList,
  ApiErrorBody,
  HealthReport,
  ReadinessReport,
} as const;

/** Schemas referenced from several components instead of being repeated inside each. */
export const SHARED_SCHEMAS = { JsonValue } as const;

export type RequestSchemaName = keyof typeof REQUEST_SCHEMAS;
export type ResponseSchemaName = keyof typeof RESPONSE_SCHEMAS;
