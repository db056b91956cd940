import { z } from 'zod';

import { JsonValue, Timestamp } from '../common';

/** Id of a run's n-th request for input (`input_1`, `input_2`…): deterministic, so a replay after resume finds its answer. */
export const InputId = z.string().regex(/^input_[1-9][0-9]{0,5}$/, 'an input id such as input_1');
export type InputId = z.infer<typeof InputId>;

/** A JSON Schema (an object) an answer must satisfy. */
export const InputSchema = z.record(z.string(), JsonValue);
export type InputSchema = z.infer<typeof InputSchema>;

/**
 * Something a waiting run needs from a person: an answer to `prompt` (`kind: input`, from `request_input` or
 * `context.waitForInput`), or a decision on a tool call (`kind: approval`, for a tool the agent's config marks
 * `approval.tools`). Answered with `POST /runs/{id}/resume` before `expires_at`.
 */
export const PendingInput = z.object({
  id: InputId,
  kind: z.enum(['input', 'approval']),
  prompt: z.string().max(4_000),
  /** JSON Schema the answer must satisfy (`kind: input` only). */
  schema: InputSchema.optional(),
  /** The tool waiting for approval and its input (as the log shows it: secrets masked). */
  tool: z.string().max(64).optional(),
  tool_input: JsonValue.optional(),
  /** When the wait ends: the run fails with `input_timeout`, or goes on with `default` when the request set one. */
  expires_at: Timestamp,
  /** The answer used when the wait expires; without it the run fails with `input_timeout`. */
  default: JsonValue.optional(),
});
export type PendingInput = z.infer<typeof PendingInput>;

/** The answer to an approval, as the agent sees it by its input id. */
export const ApprovalAnswer = z.object({ approved: z.boolean(), reason: z.string().max(500).optional() });
export type ApprovalAnswer = z.infer<typeof ApprovalAnswer>;

/**
 * Body of `POST /runs/{id}/resume`: answers by input id (`{"inputs": {"input_1": …}}`: every pending input must be
 * answered), or a decision on the pending approval (`{"approve": true}` / `{"approve": false, "reason": "…"}`).
 */
export const ResumeRunRequest = z
  .strictObject({
    inputs: z.record(InputId, JsonValue).optional(),
    approve: z.boolean().optional(),
    reason: z.string().max(500).optional(),
  })
  .refine((body) => (body.inputs === undefined) !== (body.approve === undefined), {
    message: 'send either "inputs" or "approve"',
  })
  .refine((body) => body.reason === undefined || body.approve !== undefined, { message: '"reason" goes with "approve"', path: ['reason'] });
export type ResumeRunRequest = z.infer<typeof ResumeRunRequest>;
