// The browser-safe entry of @skreaver/sdk: no Node-only imports (checked by tools/test/sdk-package.spec.ts), and
// only types from @skreaver/contracts (zod stays out of the bundle).
export { SkreaverClient } from './client';
export type {
  CreateAgentRequest,
  CreateApiKeyRequest,
  CreateRunOptions,
  CreateThreadRequest,
  IdempotentOptions,
  ListOptions,
  PostMeshMessageRequest,
  ResumeRunRequest,
  UpdateAgentRequest,
  UpdateThreadRequest,
} from './client';
export { SkreaverError, retryAfterSeconds } from './errors';
export type { ClientErrorCode } from './errors';
export { SseParser } from './sse';
export type { SseMessage } from './sse';
export { AgentEventWatch, RunEventStream, isTerminalEvent, socketIoConnector, webSocketConnector } from './stream';
export type { LiveConnector, LiveHandlers, SocketIoFactory, SocketIoLike, StreamOptions, StreamState } from './stream';
export { Transport, backoffMs } from './transport';
export type { Call, CallOptions, FetchLike, RetryOptions, SkreaverClientOptions, WebSocketConstructor, WebSocketLike } from './transport';
