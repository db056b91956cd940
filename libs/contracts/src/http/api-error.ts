import { z } from 'zod';

/** Stable error codes every Skreaver HTTP API answers with. */
export const ApiErrorCode = z.enum([
  /** 400: a request the HTTP parser cannot read (unknown method, broken framing such as Content-Length with chunking). */
  'bad_request',
  /** 408: the request did not arrive in time. */
  'request_timeout',
  /** 431: request headers larger than the server accepts. */
  'header_too_large',
  'validation_failed',
  'invalid_json',
  'unsupported_media_type',
  'payload_too_large',
  'not_found',
  'method_not_allowed',
  'conflict',
  'agent_busy',
  'thread_busy',
  'idempotency_key_reused',
  'run_failed',
  'run_timeout',
  'rate_limited',
  /** 503: the replica is serving as many requests as it may (`SKREAVER_MAX_IN_FLIGHT`); retry after `Retry-After`. */
  'overloaded',
  'database_unavailable',
  'queue_unavailable',
  'redis_unavailable',
  'not_ready',
  'internal_error',
  'unauthorized',
  'forbidden',
  'memory_value_too_large',
  'memory_full',
  /** 503: `SKREAVER_MESH_ENABLED=false` (direct mode): mesh routes are off. */
  'mesh_disabled',
  /** 429: a recipient's inbox is full (`SKREAVER_MESH_INBOX_LIMIT`); the message was not sent. */
  'mesh_backpressure',
  /** 504: request/reply got no reply before its deadline. */
  'mesh_timeout',
  /** 409: the run waits for input (`POST /agents/{id}/observe`); answer it with `POST /runs/{id}/resume`. */
  'run_waiting_input',
  /** 409 (`POST /runs/{id}/resume`): the run is not waiting for input. */
  'run_not_waiting',
  /** 409: no pending input of the run has this id. */
  'input_unknown',
  /** 409: the input's wait has expired. */
  'input_expired',
  /** 409: the input was answered already. */
  'input_already_answered',
  /** 422: an answer does not satisfy its input's JSON Schema (`details` says where). */
  'input_invalid',
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** The one error body of every HTTP endpoint. */
export const ApiErrorBody = z.object({
  error: ApiErrorCode,
  message: z.string(),
  details: z.unknown().optional(),
  request_id: z.string(),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

/** One field-level problem inside a `validation_failed` error's details. */
export const ValidationIssue = z.object({ path: z.string(), message: z.string() });
export type ValidationIssue = z.infer<typeof ValidationIssue>;
