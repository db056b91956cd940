import { z } from 'zod';

import { JsonValue, RunId, Timestamp } from '../common';

/** What a journaled step was: a tool call, a model call (the `llm` kind), or a `context.step` of an agent or plugin. */
export const RunStepKind = z.enum(['tool', 'model', 'step']);
export type RunStepKind = z.infer<typeof RunStepKind>;

/**
 * One journaled step of a run: the N-th step (`ordinal`, 1-based across the run's attempts) and the result it gave
 * the agent. A replay of the run returns `result` for step N instead of executing it again.
 */
export const RunStep = z.object({
  run_id: RunId,
  ordinal: z.number().int().positive(),
  kind: RunStepKind,
  /** The tool's name for `tool`, the step's name otherwise. */
  name: z.string().min(1).max(200),
  /** False for a tool call that failed for good (its `result` is the error); always true for `model` and `step`. */
  ok: z.boolean(),
  /** The tool's result (or `{code, message, retryable}` when not ok), the model's reply, or `fn`'s value. */
  result: JsonValue,
  created_at: Timestamp,
});
export type RunStep = z.infer<typeof RunStep>;
