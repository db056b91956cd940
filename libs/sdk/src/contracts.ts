// Every type the SDK takes from libs/contracts, in one module: the package's build (tools/sdk-declarations.mjs)
// replaces its declarations with the expanded types, so the published .d.ts names neither @skreaver/contracts nor
// zod. Types only: nothing of contracts (or zod) is in the JavaScript.
import type {
  Agent,
  AgentList,
  AgentStatusReport,
  ApiErrorCode,
  ApiKey,
  ApiKeyList,
  AuditList,
  BatchResponse,
  CreatedApiKey,
  JsonValue,
  MemoryEntry,
  MemoryPage,
  MeshDeadLetterList,
  MeshPresenceList,
  ObserveResponse,
  PostMeshMessageResponse,
  RedrivenRun,
  Run,
  RunEventV1,
  RunEventsPage,
  RunList,
  RunStatus,
  Thread,
  ThreadHistoryPage,
  ThreadList,
  ThreadStatus,
  TokenResponse,
  ToolList,
  CreateAgentRequest as CreateAgentRequestSchema,
  CreateApiKeyRequest as CreateApiKeyRequestSchema,
  CreateThreadRequest as CreateThreadRequestSchema,
  PostMeshMessageRequest as PostMeshMessageRequestSchema,
  ResumeRunRequest as ResumeRunRequestSchema,
  UpdateAgentRequest as UpdateAgentRequestSchema,
  UpdateThreadRequest as UpdateThreadRequestSchema,
} from '@skreaver/contracts';

export type {
  Agent,
  AgentList,
  AgentStatusReport,
  ApiErrorCode,
  ApiKey,
  ApiKeyList,
  AuditList,
  BatchResponse,
  CreatedApiKey,
  JsonValue,
  MemoryEntry,
  MemoryPage,
  MeshDeadLetterList,
  MeshPresenceList,
  ObserveResponse,
  PostMeshMessageResponse,
  RedrivenRun,
  Run,
  RunEventV1,
  RunEventsPage,
  RunList,
  RunStatus,
  Thread,
  ThreadHistoryPage,
  ThreadList,
  ThreadStatus,
  TokenResponse,
  ToolList,
};

/** What a zod schema of contracts accepts (its input: fields with defaults optional), without importing zod. */
type Input<Schema extends { _zod: { input: unknown } }> = Schema['_zod']['input'];

export type CreateAgentRequest = Input<typeof CreateAgentRequestSchema>;
export type UpdateAgentRequest = Input<typeof UpdateAgentRequestSchema>;
export type CreateApiKeyRequest = Input<typeof CreateApiKeyRequestSchema>;
export type CreateThreadRequest = Input<typeof CreateThreadRequestSchema>;
export type UpdateThreadRequest = Input<typeof UpdateThreadRequestSchema>;
export type ResumeRunRequest = Input<typeof ResumeRunRequestSchema>;
export type PostMeshMessageRequest = Input<typeof PostMeshMessageRequestSchema>;
