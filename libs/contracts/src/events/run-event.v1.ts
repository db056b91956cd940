import { z } from 'zod';

import { AgentId, JsonValue, RunId, TenantId, Timestamp } from '../common';
import { InputId, PendingInput } from '../http/run-inputs';

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

export const RunQueuedEventV1 = z.object({
  ...base,
  type: z.literal('run.queued'),
  data: z.object({
    input: JsonValue,
    /** Set when an operator redrove a failed run: the id of that run (this one re-submits its input). */
    redriven_from: RunId.optional(),
  }),
});
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

/** The run stopped to wait for a person (`POST /runs/{id}/resume` answers); it holds no worker slot meanwhile. */
export const RunWaitingInputEventV1 = z.object({
  ...base,
  type: z.literal('run.waiting_input'),
  data: z.object({ attempt: z.number().int().positive(), pending_inputs: z.array(PendingInput).min(1) }),
});

/**
 * The run's inputs were answered (`by`: the caller's subject, or `input_timeout_default` when an expired wait took
 * its default) and it is queued again; it replays from the start, completed steps returning their recorded results.
 */
export const RunResumedEventV1 = z.object({
  ...base,
  type: z.literal('run.resumed'),
  data: z.object({ input_ids: z.array(InputId).min(1), by: z.string().max(200) }),
});

/** A tool failure as events and tool results carry it: a stable code and a message for people. */
export const ToolErrorV1 = z.object({ code: z.string().min(1).max(64), message: z.string().max(2_000) });
export type ToolErrorV1 = z.infer<typeof ToolErrorV1>;

/** Attempt of the run that produced an activity event: a retried run logs each attempt's steps. */
const attempt = z.number().int().positive();

/** Present on activity an attempt replayed from the run's journal: results an earlier attempt recorded, not executed again. */
const replayed = z.literal(true).optional();

/** A step of the agent (one model call, one tool step, one webhook delivery, or whatever a plugin calls a step). */
export const RunStepEventV1 = z.object({
  ...base,
  type: z.literal('run.step'),
  data: z.object({
    attempt,
    /** 1-based within the attempt; counts against the agent's `max_steps`. */
    step: z.number().int().positive(),
    name: z.string().min(1).max(200),
    detail: JsonValue.optional(),
    replayed,
  }),
});

/** The agent called a tool; `tool.result` with the same `call_id` follows. */
export const ToolCallEventV1 = z.object({
  ...base,
  type: z.literal('tool.call'),
  data: z.object({ attempt, call_id: z.string().min(1).max(64), tool: z.string().min(1).max(64), input: JsonValue, replayed }),
});

/** A tool call's outcome: `result` when `ok`, `error` otherwise. */
export const ToolResultEventV1 = z.object({
  ...base,
  type: z.literal('tool.result'),
  data: z.object({
    attempt,
    call_id: z.string().min(1).max(64),
    tool: z.string().min(1).max(64),
    ok: z.boolean(),
    duration_ms: z.number().nonnegative(),
    result: JsonValue.optional(),
    error: ToolErrorV1.optional(),
    replayed,
  }),
});

/** Partial output the agent produced before its result (a chunk of text, an intermediate answer). */
export const RunOutputEventV1 = z.object({
  ...base,
  type: z.literal('run.output'),
  data: z.object({ attempt, index: z.number().int().nonnegative(), output: JsonValue }),
});

/**
 * A piece of text the agent is producing (an `llm` agent's streamed tokens), coalesced so a socket is not flooded.
 * `index` counts from 0 and is consecutive within the run (across its attempts), so a client sees a gap; the
 * concatenated `text` of an attempt's deltas is what the model wrote (the final answer is still `run.completed`'s).
 */
export const MessageDeltaEventV1 = z.object({
  ...base,
  type: z.literal('message.delta'),
  data: z.object({
    attempt,
    /** The `run.step` the text belongs to (the model call), when the agent had logged one. */
    step: z.number().int().positive().optional(),
    index: z.number().int().nonnegative(),
    text: z.string().min(1).max(16_384),
  }),
});

/** Every event a run appends to its log and to the global event stream. */
export const RunEventV1 = z.discriminatedUnion('type', [
  RunQueuedEventV1,
  RunStartedEventV1,
  RunStepEventV1,
  ToolCallEventV1,
  ToolResultEventV1,
  RunOutputEventV1,
  MessageDeltaEventV1,
  RunCompletedEventV1,
  RunFailedEventV1,
  RunCancelledEventV1,
  RunWaitingInputEventV1,
  RunResumedEventV1,
]);

/** Whether `event` ends its run's log (a non-final `run.failed` does not: a retry follows). */
export function isTerminalEvent(event: RunEventV1): boolean {
  return event.type === 'run.completed' || event.type === 'run.cancelled' || (event.type === 'run.failed' && event.data.final);
}
export type RunEventV1 = z.infer<typeof RunEventV1>;
export type RunEventType = RunEventV1['type'];
/** The event of one type, e.g. `RunEventOf<'run.completed'>`. */
export type RunEventOf<T extends RunEventType> = Extract<RunEventV1, { type: T }>;

/** Events an agent produces while it runs, between `run.started` and the run's outcome. */
export const RUN_ACTIVITY_TYPES = ['run.step', 'tool.call', 'tool.result', 'run.output', 'message.delta'] as const;
export type RunActivityType = (typeof RUN_ACTIVITY_TYPES)[number];
/** An activity event before the log gives it an id, seq and timestamp: its type and data. */
export type RunActivity = { [T in RunActivityType]: { type: T; data: RunEventOf<T>['data'] } }[RunActivityType];

/** Builds the deterministic id of a run's `seq`-th event. */
export function runEventId(runId: string, seq: number): string {
  return `${runId}:${seq}`;
}
