// Created per request by the HTTP layer and kept on the request (`requestContextOf` in @skreaver/http); code that logs
// for a request passes it to `JsonLogger.write`. No ambient AsyncLocalStorage: one in use turns on V8's promise hooks
// for every promise in the process, 19-27 % of the instructions of an authenticated GET (issue 17).

/** What every log line written while serving one request carries. */
export interface RequestContext {
  readonly requestId: string;
  agentId?: string;
  /** Who the request authenticated as (`key:<prefix>`), set once auth has run; never a credential. */
  subject?: string;
}
