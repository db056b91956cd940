/**
 * What every log line written while serving one request carries. The HTTP layer creates one per request and keeps
 * it on the request (`requestContextOf` in @skreaver/http); code that logs for a request passes it to
 * `JsonLogger.write`. There is no ambient (AsyncLocalStorage) context: one AsyncLocalStorage in use turns on V8's
 * promise hooks for every promise in the process, 19–27 % of the instructions of an authenticated GET (issue 17).
 */
export interface RequestContext {
  readonly requestId: string;
  agentId?: string;
  /** Who the request authenticated as (`key:<prefix>`), set once auth has run; never a credential. */
  subject?: string;
}
