// The browser-safe entry of @skreaver/sdk: no Node-only imports (checked by tools/test/sdk-package.spec.ts), and
// only types from @skreaver/contracts (zod stays out of the bundle; ./contracts has no JavaScript).
export { SkreaverClient } from './client';
export type { CreateRunOptions, IdempotentOptions, ListOptions } from './client';
// The API's request and response types (from libs/contracts; the published .d.ts carries them expanded).
export type * from './contracts';
export { SkreaverError, retryAfterSeconds } from './errors';
export type { ClientErrorCode } from './errors';
export { SseParser } from './sse';
export type { SseMessage } from './sse';
export { AgentEventWatch, RunEventStream, isTerminalEvent, socketIoConnector, socketIoRunConnector, webSocketConnector } from './stream';
export type { LiveConnector, LiveHandlers, RunLiveConnector, SocketIoFactory, SocketIoLike, StreamOptions, StreamState } from './stream';
export { Transport, backoffMs } from './transport';
export type { Call, CallOptions, FetchLike, RetryOptions, SkreaverClientOptions, WebSocketConstructor, WebSocketLike } from './transport';
