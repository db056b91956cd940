import {
  Agent,
  AgentIdParams,
  AgentList,
  AgentStatusReport,
  ApiKeyIdParams,
  ApiKeyList,
  ApiKeyListQuery,
  AuditList,
  AuditQuery,
  BatchRequest,
  BatchResponse,
  CancelRunRequest,
  CreateAgentRequest,
  CreateApiKeyRequest,
  CreateRunQuery,
  CreateRunRequest,
  CreatedApiKey,
  ListAgentsQuery,
  MemoryEntry,
  MemoryEntryParams,
  MemoryListQuery,
  MemoryPage,
  MeshDeadLetterList,
  MeshDeadLetterParams,
  MeshDeadLetterQuery,
  MeshPresenceList,
  ObserveRequest,
  ObserveResponse,
  PostMeshMessageRequest,
  PostMeshMessageResponse,
  PutMemoryRequest,
  RedrivenRun,
  ResumeRunRequest,
  RevokeRequest,
  Run,
  RunEventsPage,
  RunEventsQuery,
  RunIdParams,
  RunList,
  RunSearchQuery,
  TokenRequest,
  TokenResponse,
  ToolList,
  UpdateAgentRequest,
} from '@skreaver/contracts';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

// The contracts (libs/contracts) as classes: a handler parameter typed with one is validated by the global pipe and
// documented in /openapi.json; a response type is documented with `.Output` (what the API sends, defaults applied).
// The document names each model after its class without `Dto` (`CreateAgentRequestDto` → `CreateAgentRequest`).

export class AgentIdParamsDto extends createZodDto(AgentIdParams) {}
export class RunIdParamsDto extends createZodDto(RunIdParams) {}
export class MemoryEntryParamsDto extends createZodDto(MemoryEntryParams) {}
export class ApiKeyIdParamsDto extends createZodDto(ApiKeyIdParams) {}
export class MeshDeadLetterParamsDto extends createZodDto(MeshDeadLetterParams) {}

export class ListAgentsQueryDto extends createZodDto(ListAgentsQuery) {}
export class CreateRunQueryDto extends createZodDto(CreateRunQuery) {}
export class RunSearchQueryDto extends createZodDto(RunSearchQuery) {}
export class RunEventsQueryDto extends createZodDto(RunEventsQuery) {}
/** `?limit=` of `GET /agents/{id}/runs`. */
export class AgentRunsQueryDto extends createZodDto(z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) })) {}
export class MemoryListQueryDto extends createZodDto(MemoryListQuery) {}
export class MeshDeadLetterQueryDto extends createZodDto(MeshDeadLetterQuery) {}
export class ApiKeyListQueryDto extends createZodDto(ApiKeyListQuery) {}
export class AuditQueryDto extends createZodDto(AuditQuery) {}

export class CreateAgentRequestDto extends createZodDto(CreateAgentRequest) {}
export class UpdateAgentRequestDto extends createZodDto(UpdateAgentRequest) {}
export class CreateRunRequestDto extends createZodDto(CreateRunRequest) {}
export class ObserveRequestDto extends createZodDto(ObserveRequest) {}
export class BatchRequestDto extends createZodDto(BatchRequest) {}
/** Optional: no body cancels without a reason. */
export class CancelRunRequestDto extends createZodDto(CancelRunRequest) {}
/** `{"inputs": {"input_1": …}}` or `{"approve": true|false, "reason"?}`. */
export class ResumeRunRequestDto extends createZodDto(ResumeRunRequest) {}
export class PutMemoryRequestDto extends createZodDto(PutMemoryRequest) {}
export class CreateApiKeyRequestDto extends createZodDto(CreateApiKeyRequest) {}
/** Optional (no body is `{}`): the API key usually travels in a header. */
export class TokenRequestDto extends createZodDto(TokenRequest.default({})) {}
/** Optional (no body is `{}`): revoke defaults to the caller's own token. */
export class RevokeRequestDto extends createZodDto(RevokeRequest.default({})) {}
/**
 * A union, which no class can stand for: this DTO only documents the body (`@ApiBody`); the handler parses it with
 * `ZodValidationPipe(PostMeshMessageRequest)`.
 */
export class PostMeshMessageRequestDto extends (createZodDto(PostMeshMessageRequest) as unknown as new () => object) {}

export class AgentDto extends createZodDto(Agent) {}
export class AgentListDto extends createZodDto(AgentList) {}
export class AgentStatusReportDto extends createZodDto(AgentStatusReport) {}
export class RunDto extends createZodDto(Run) {}
export class RunListDto extends createZodDto(RunList) {}
export class RedrivenRunDto extends createZodDto(RedrivenRun) {}
export class RunEventsPageDto extends createZodDto(RunEventsPage) {}
export class ObserveResponseDto extends createZodDto(ObserveResponse) {}
export class BatchResponseDto extends createZodDto(BatchResponse) {}
export class MemoryEntryDto extends createZodDto(MemoryEntry) {}
export class MemoryPageDto extends createZodDto(MemoryPage) {}
export class CreatedApiKeyDto extends createZodDto(CreatedApiKey) {}
export class ApiKeyListDto extends createZodDto(ApiKeyList) {}
export class AuditListDto extends createZodDto(AuditList) {}
export class TokenResponseDto extends createZodDto(TokenResponse) {}
export class ToolListDto extends createZodDto(ToolList) {}
export class PostMeshMessageResponseDto extends createZodDto(PostMeshMessageResponse) {}
export class MeshPresenceListDto extends createZodDto(MeshPresenceList) {}
export class MeshDeadLetterListDto extends createZodDto(MeshDeadLetterList) {}
