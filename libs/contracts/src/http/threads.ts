import { z } from 'zod';

import { AgentId, JsonValue, RunId, TenantId, Timestamp } from '../common';

/** Thread ids are UUIDs minted by agent-api. */
export const ThreadId = z.uuid();
export type ThreadId = z.infer<typeof ThreadId>;

/** Checkpoint ids are UUIDs minted when a thread's run completes. */
export const CheckpointId = z.uuid();
export type CheckpointId = z.infer<typeof CheckpointId>;

/**
 * `idle`: no run open; `busy`: a run of the thread is queued or running; `waiting_input`: its run waits for a
 * person; `error`: its last run failed (the next input may still be sent).
 */
export const ThreadStatus = z.enum(['idle', 'busy', 'waiting_input', 'error']);
export type ThreadStatus = z.infer<typeof ThreadStatus>;

/**
 * What a new input does while the thread is busy (double-texting): `reject` answers 409 `thread_busy`, `enqueue`
 * waits its turn, `interrupt` cancels the thread's open run and starts. Unset: the agent's concurrency policy
 * (`parallel` counts as `enqueue`: the turns of one conversation never run at once).
 */
export const DoubleTextingPolicy = z.enum(['reject', 'enqueue', 'interrupt']);
export type DoubleTextingPolicy = z.infer<typeof DoubleTextingPolicy>;

/** A tool call of an assistant message (OpenAI chat shape). */
export const ThreadToolCall = z.object({
  id: z.string().min(1).max(200),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().min(1).max(200), arguments: z.string() }),
});
export type ThreadToolCall = z.infer<typeof ThreadToolCall>;

/**
 * One message of a thread's conversation, in the chat shape models take: `user` inputs, `assistant` answers (with
 * the tool calls it asked for), and `tool` results (`tool_call_id` names the call they answer).
 */
export const ThreadMessage = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().nullable(),
  tool_calls: z.array(ThreadToolCall).optional(),
  tool_call_id: z.string().min(1).max(200).optional(),
});
export type ThreadMessage = z.infer<typeof ThreadMessage>;

/** Free-form labels a client keeps on a thread (a user id, a title…). */
export const ThreadMetadata = z.record(z.string().max(256), JsonValue);
export type ThreadMetadata = z.infer<typeof ThreadMetadata>;

/** A thread as the API returns it. */
export const Thread = z.object({
  id: ThreadId,
  tenant_id: TenantId,
  agent_id: AgentId,
  status: ThreadStatus,
  metadata: ThreadMetadata,
  /** Null: the agent's concurrency policy decides (see `DoubleTextingPolicy`). */
  double_texting: DoubleTextingPolicy.nullable(),
  /** The JSON state the thread's agent keeps (`context.thread.state`); null until an agent sets one. */
  state: JsonValue,
  /** Messages the thread holds now (after the size policy trimmed the oldest). */
  message_count: z.number().int().nonnegative(),
  /** Completed turns (runs); the step of the thread's latest checkpoint. */
  turns: z.number().int().nonnegative(),
  /** The thread and checkpoint this thread was forked from, if it was. */
  forked_from: z.object({ thread_id: ThreadId, checkpoint_id: CheckpointId }).nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Thread = z.infer<typeof Thread>;

/** Path parameters of `/threads/{id}/…`. */
export const ThreadIdParams = z.object({ id: ThreadId });
export type ThreadIdParams = z.infer<typeof ThreadIdParams>;

/** Body of `POST /threads`. */
export const CreateThreadRequest = z.strictObject({
  agent_id: AgentId,
  metadata: ThreadMetadata.default({}),
  double_texting: DoubleTextingPolicy.optional(),
});
export type CreateThreadRequest = z.infer<typeof CreateThreadRequest>;

/** Body of `PATCH /threads/{id}`: `metadata` replaces the whole metadata; `double_texting: null` goes back to the agent's policy. */
export const UpdateThreadRequest = z
  .strictObject({ metadata: ThreadMetadata.optional(), double_texting: DoubleTextingPolicy.nullable().optional() })
  .refine((body) => Object.values(body).some((value) => value !== undefined), { message: 'nothing to update' });
export type UpdateThreadRequest = z.infer<typeof UpdateThreadRequest>;

/** Query of `GET /threads`: filters, page size and the opaque cursor from the previous page (newest first). */
export const ListThreadsQuery = z.strictObject({
  agent_id: AgentId.optional(),
  status: ThreadStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'a cursor from next_cursor').optional(),
});
export type ListThreadsQuery = z.infer<typeof ListThreadsQuery>;

export const ThreadList = z.object({ items: z.array(Thread), next_cursor: z.string().nullable() });
export type ThreadList = z.infer<typeof ThreadList>;

/**
 * A checkpoint: the thread as one completed run (a turn) left it — its conversation and state — recorded when the
 * run completed. `step` is the turn's number (1 for the first completed run). Forking from a checkpoint starts a
 * new thread with exactly this conversation and state.
 */
export const ThreadCheckpoint = z.object({
  id: CheckpointId,
  thread_id: ThreadId,
  run_id: RunId,
  step: z.number().int().min(1),
  state: JsonValue,
  messages: z.array(ThreadMessage),
  created_at: Timestamp,
});
export type ThreadCheckpoint = z.infer<typeof ThreadCheckpoint>;

/** Query of `GET /threads/{id}/history`: checkpoints with a step below `before`, newest first, at most `limit`. */
export const ThreadHistoryQuery = z.strictObject({
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type ThreadHistoryQuery = z.infer<typeof ThreadHistoryQuery>;

/** A page of a thread's checkpoints, newest first; pass `next_before` as `before` for the older ones. */
export const ThreadHistoryPage = z.object({ items: z.array(ThreadCheckpoint), next_before: z.number().int().nullable() });
export type ThreadHistoryPage = z.infer<typeof ThreadHistoryPage>;

/**
 * Body of `POST /threads/{id}/runs`: the next input of the conversation. With `checkpoint_id` (one of this
 * thread's), the input goes to a NEW thread forked from that checkpoint; the original thread is left untouched.
 */
export const CreateThreadRunRequest = z.strictObject({ input: JsonValue, checkpoint_id: CheckpointId.optional() });
export type CreateThreadRunRequest = z.infer<typeof CreateThreadRunRequest>;
