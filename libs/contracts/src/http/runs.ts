import { z } from 'zod';

import { AgentId, JsonValue, RunId, TenantId, Timestamp } from '../common';
import { RunEventV1 } from '../events/run-event.v1';
import { PendingInput } from './run-inputs';
import { ThreadId } from './threads';

/** `waiting_input`: suspended until a person answers its `pending_inputs` (`POST /runs/{id}/resume`); not terminal. */
export const RunStatus = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled', 'waiting_input']);
export type RunStatus = z.infer<typeof RunStatus>;

/** Statuses after which a run never changes again. */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

/** Where a run came from. */
export const RunSource = z.enum(['api', 'mesh', 'schedule']);
export type RunSource = z.infer<typeof RunSource>;

/** Body of `POST /agents/{id}/runs`. */
export const CreateRunRequest = z.strictObject({ input: JsonValue });
export type CreateRunRequest = z.infer<typeof CreateRunRequest>;

export const RunError = z.object({ code: z.string(), message: z.string() });
export type RunError = z.infer<typeof RunError>;

/** Tokens a run's model calls used, summed over its attempts (what the model endpoints reported). */
export const RunUsage = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type RunUsage = z.infer<typeof RunUsage>;

/** A run as the API returns it. */
export const Run = z.object({
  id: RunId,
  tenant_id: TenantId,
  agent_id: AgentId,
  status: RunStatus,
  source: RunSource,
  input: JsonValue,
  output: JsonValue.nullable(),
  error: RunError.nullable(),
  attempts: z.number().int().nonnegative(),
  /** The client's `Idempotency-Key`, when it sent one. */
  idempotency_key: z.string().nullable(),
  /** Tokens its model calls used (an `llm` agent's), null when it made none. */
  usage: RunUsage.nullable(),
  /** The thread the run is a turn of (`POST /threads/{id}/runs`), or null. */
  thread_id: ThreadId.nullable(),
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  /** What the run waits for while `waiting_input`; empty otherwise. */
  pending_inputs: z.array(PendingInput).default([]),
});
export type Run = z.infer<typeof Run>;

export const RunIdParams = z.object({ id: RunId });
export type RunIdParams = z.infer<typeof RunIdParams>;

/** A page of runs, newest first; `next_cursor` (null on the last page) is the `cursor` of the next one. */
export const RunList = z.object({ items: z.array(Run), next_cursor: z.string().nullable() });
export type RunList = z.infer<typeof RunList>;

/** Longest `?wait=` a caller may ask for, seconds. */
export const MAX_WAIT_SECONDS = 300;

/**
 * Query of `POST /agents/{id}/runs`: `wait` seconds for the run to finish (200) before answering 202, or
 * `stream=true` to answer with the run's events (server-sent events, `message.delta` included) until it ends.
 */
export const CreateRunQuery = z.strictObject({
  wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional(),
  stream: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .describe('`true`: answer with the run\'s events as server-sent events until the run ends (`wait` is then ignored)'),
});
export type CreateRunQuery = z.infer<typeof CreateRunQuery>;

/** `Idempotency-Key` header: a retried request with the same key and body gets the first run back. */
export const IdempotencyKey = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** Body of `POST /agents/{id}/observe` (and `/observe/stream`). */
export const ObserveRequest = z.strictObject({ input: JsonValue, timeout_seconds: z.number().min(0.1).max(MAX_WAIT_SECONDS).optional() });
export type ObserveRequest = z.infer<typeof ObserveRequest>;

/** Answer of `POST /agents/{id}/observe`, shaped like upstream Skreaver's. */
export const ObserveResponse = z.object({ agent_id: AgentId, run_id: RunId, response: JsonValue, timestamp: Timestamp });
export type ObserveResponse = z.infer<typeof ObserveResponse>;

/** Most inputs one batch may carry. */
export const MAX_BATCH_INPUTS = 100;

/** Body of `POST /agents/{id}/batch`. */
export const BatchRequest = z.strictObject({
  inputs: z.array(JsonValue).min(1).max(MAX_BATCH_INPUTS),
  timeout_seconds: z.number().min(0.1).max(MAX_WAIT_SECONDS).optional(),
});
export type BatchRequest = z.infer<typeof BatchRequest>;

/** One input's outcome in a batch, in input order; `status` is the run's status when the batch answered. */
export const BatchItem = z.object({ run_id: RunId, status: RunStatus, output: JsonValue.nullable(), error: RunError.nullable() });
export const BatchResponse = z.object({ agent_id: AgentId, items: z.array(BatchItem) });
export type BatchResponse = z.infer<typeof BatchResponse>;

/** Body of `POST /runs/{id}/cancel` (optional). */
export const CancelRunRequest = z.strictObject({ reason: z.string().max(500).optional() }).default({});
export type CancelRunRequest = z.infer<typeof CancelRunRequest>;

/** Query of `GET /runs/{id}/events`: events strictly after `after` (an event id), at most `limit`. */
export const RunEventsQuery = z.strictObject({
  after: z.string().regex(/^[0-9a-f-]{36}:\d+$/, 'an event id').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type RunEventsQuery = z.infer<typeof RunEventsQuery>;

/** A page of a run's event log, oldest first. */
export const RunEventsPage = z.object({
  items: z.array(RunEventV1),
  next_after: z.string().nullable(),
});
export type RunEventsPage = z.infer<typeof RunEventsPage>;
