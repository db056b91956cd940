import { ToolName } from '@skreaver/contracts';
import { z } from 'zod';

import { MAX_INPUT_TIMEOUT_SECONDS } from './human-input';

/**
 * The shared `approval` section of an agent config: `tools` a person must approve before each call. The run waits
 * (`waiting_input`, a pending input of kind `approval` with the tool and its input) until `POST /runs/{id}/resume`
 * decides: approved, the call runs; refused, the agent gets a failed result `approval_denied`. `timeout_seconds`: how
 * long each decision may take (default RUN_INPUT_TIMEOUT_SECONDS); past it the run fails with `input_timeout`.
 */
export const ToolApprovalConfig = z.strictObject({
  tools: z.array(ToolName).min(1).max(100),
  timeout_seconds: z.number().positive().max(MAX_INPUT_TIMEOUT_SECONDS).optional(),
});
export type ToolApprovalConfig = z.infer<typeof ToolApprovalConfig>;

/** Tools installed but offered to an agent only when its config's `tools` lists them. */
export const OPT_IN_TOOLS: readonly string[] = ['request_input'];
