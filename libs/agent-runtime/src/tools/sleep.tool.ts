import { sleep } from '@skreaver/util';
import { z } from 'zod';

import { ToolError, defineTool } from './tool-definition';

/** Longest `sleep` a call may ask for; the run's own timeout bounds it further. */
export const MAX_SLEEP_MS = 60_000;

/** `sleep`: waits, and stops early when the run is cancelled or times out. */
export const sleepTool = defineTool({
  name: 'sleep',
  description: `Waits ms milliseconds (at most ${MAX_SLEEP_MS}); ends early with an error when the run is cancelled.`,
  inputSchema: z.strictObject({ ms: z.number().int().min(0).max(MAX_SLEEP_MS) }),
  async run(input, context) {
    const started = performance.now();
    try {
      await sleep(input.ms, context.signal);
    } catch {
      throw new ToolError('aborted', `the run was aborted after ${Math.round(performance.now() - started)} ms of sleep`);
    }
    return { slept_ms: input.ms };
  },
});
