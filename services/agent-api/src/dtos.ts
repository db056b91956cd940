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
  AgentRunsQuery,
  RunSearchQuery,
  TokenRequest,
  TokenResponse,
  ToolList,
  UpdateAgentRequest,
} from '@skreaver/contracts';
import { documented } from '@skreaver/http';
import { createZodDto } from 'nestjs-zod';

// The contracts (libs/contracts) as classes: a handler parameter typed with one is validated by the global pipe and
// documented in /openapi.json; a response type is documented with `.Output` (what the API sends, defaults applied).
// The document names each model after its class without `Dto` (`CreateAgentRequestDto` → `CreateAgentRequest`).

export class AgentIdParamsDto extends documented(createZodDto(AgentIdParams)) {}
export class RunIdParamsDto extends documented(createZodDto(RunIdParams)) {}
export class MemoryEntryParamsDto extends documented(createZodDto(MemoryEntryParams)) {}
export class ApiKeyIdParamsDto extends documented(createZodDto(ApiKeyIdParams)) {}
export class MeshDeadLetterParamsDto extends documented(createZodDto(MeshDeadLetterParams)) {}

export class ListAgentsQueryDto extends documented(createZodDto(ListAgentsQuery)) {}
export class CreateRunQueryDto extends documented(createZodDto(CreateRunQuery)) {}
export class RunSearchQueryDto extends documented(createZodDto(RunSearchQuery)) {}
export class RunEventsQueryDto extends documented(createZodDto(RunEventsQuery)) {}
export class AgentRunsQueryDto extends documented(createZodDto(AgentRunsQuery)) {}
export class MemoryListQueryDto extends documented(createZodDto(MemoryListQuery)) {}
export class MeshDeadLetterQueryDto extends documented(createZodDto(MeshDeadLetterQuery)) {}
export class ApiKeyListQueryDto extends documented(createZodDto(ApiKeyListQuery)) {}
export class AuditQueryDto extends documented(createZodDto(AuditQuery)) {}

export class CreateAgentRequestDto extends documented(createZodDto(CreateAgentRequest)) {}
export class UpdateAgentRequestDto extends documented(createZodDto(UpdateAgentRequest)) {}
export class CreateRunRequestDto extends documented(createZodDto(CreateRunRequest)) {}
export class ObserveRequestDto extends documented(createZodDto(ObserveRequest)) {}
export class BatchRequestDto extends documented(createZodDto(BatchRequest)) {}
/** Optional: no body cancels without a reason. */
export class CancelRunRequestDto extends documented(createZodDto(CancelRunRequest)) {}
/** `{"inputs": {"input_1": …}}` or `{"approve": true|false, "reason"?}`. */
export class ResumeRunRequestDto extends documented(createZodDto(ResumeRunRequest)) {}
export class PutMemoryRequestDto extends documented(createZodDto(PutMemoryRequest)) {}
export class CreateApiKeyRequestDto extends documented(createZodDto(CreateApiKeyRequest)) {}
/** Optional (no body is `{}`): the API key usually travels in a header. */
export class TokenRequestDto extends documented(createZodDto(TokenRequest.default({}))) {}
/** Optional (no body is `{}`): revoke defaults to the caller's own token. */
export class RevokeRequestDto extends documented(createZodDto(RevokeRequest.default({}))) {}
/**
 * A union, which no class can stand for: this DTO only documents the body (`@ApiBody`); the handler parses it with
 * `ZodValidationPipe(PostMeshMessageRequest)`.
 */
export class PostMeshMessageRequestDto extends (documented(createZodDto(PostMeshMessageRequest)) as unknown as new () => object) {}

export class AgentDto extends documented(createZodDto(Agent)) {}
export class AgentListDto extends documented(createZodDto(AgentList)) {}
export class AgentStatusReportDto extends documented(createZodDto(AgentStatusReport)) {}
export class RunDto extends documented(createZodDto(Run)) {}
export class RunListDto extends documented(createZodDto(RunList)) {}
export class RedrivenRunDto extends documented(createZodDto(RedrivenRun)) {}
export class RunEventsPageDto extends documented(createZodDto(RunEventsPage)) {}
export class ObserveResponseDto extends documented(createZodDto(ObserveResponse)) {}
export class BatchResponseDto extends documented(createZodDto(BatchResponse)) {}
export class MemoryEntryDto extends documented(createZodDto(MemoryEntry)) {}
export class MemoryPageDto extends documented(createZodDto(MemoryPage)) {}
export class CreatedApiKeyDto extends documented(createZodDto(CreatedApiKey)) {}
export class ApiKeyListDto extends documented(createZodDto(ApiKeyList)) {}
export class AuditListDto extends documented(createZodDto(AuditList)) {}
export class TokenResponseDto extends documented(createZodDto(TokenResponse)) {}
export class ToolListDto extends documented(createZodDto(ToolList)) {}
export class PostMeshMessageResponseDto extends documented(createZodDto(PostMeshMessageResponse)) {}
export class MeshPresenceListDto extends documented(createZodDto(MeshPresenceList)) {}
export class MeshDeadLetterListDto extends documented(createZodDto(MeshDeadLetterList)) {}
