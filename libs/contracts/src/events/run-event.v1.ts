import { z } from 'zod';

import { AgentId, JsonValue, RunId, TenantId, Timestamp } from '../common';

const base = {
  /** `<run_id>:<seq>`: deterministic, so an append retried after a crash is recognised as a duplicate. */
  id: z.string().regex(/^[0-9a-f-]{36}:\d+$/),
  run_id: RunId,
  agent_id: AgentId,
  tenant_id: TenantId,
  /** 1-based position in the run's event log. */
  seq: z.number().int().positive(),
  ts: Timestamp,
};

export const RunQueuedEventV1 = z.object({ ...base, type: z.literal('run.queued'), data: z.object({ input: JsonValue }) });
export const RunStartedEventV1 = z.object({
  ...base,
  type: z.literal('run.started'),
  data: z.object({ attempt: z.number().int().positive(), worker: z.string() }),
});
export const RunCompletedEventV1 = z.object({
  ...base,
  type: z.literal('run.completed'),
  data: z.object({ output: JsonValue, duration_ms: z.number().nonnegative() }),
});
export const RunFailedEventV1 = z.object({
  ...base,
  type: z.literal('run.failed'),
  data: z.object({ code: z.string(), message: z.string(), attempt: z.number().int().positive(), final: z.boolean() }),
});

export const RunCancelledEventV1 = z.object({
  ...base,
  type: z.literal('run.cancelled'),
  data: z.object({ reason: z.string(), by: z.string() }),
});

/** Every event a run appends to its log and to the global event stream. */
export const RunEventV1 = z.discriminatedUnion('type', [
  RunQueuedEventV1,
  RunStartedEventV1,
  RunCompletedEventV1,
  RunFailedEventV1,
  RunCancelledEventV1,
]);

/** Whether `event` ends its run's log (a non-final `run.failed` does not: a retry follows). */
export function isTerminalEvent(event: RunEventV1): boolean {
  return event.type === 'run.completed' || event.type === 'run.cancelled' || (event.type === 'run.failed' && event.data.final);
}
export type RunEventV1 = z.infer<typeof RunEventV1>;
export type RunEventType = RunEventV1['type'];
/** The event of one type, e.g. `RunEventOf<'run.completed'>`. */
export type RunEventOf<T extends RunEventType> = Extract<RunEventV1, { type: T }>;

/** Builds the deterministic id of a run's `seq`-th event. */
export function runEventId(runId: string, seq: number): string {
  return `${runId}:${seq}`;
}
