import { sleep } from '@skreaver/util';
import { z } from 'zod';

import { defineAgent } from '../agent-definition';

/**
 * Answers with its input: the smallest agent, for wiring checks and benchmarks. `delay_ms` makes it take that long
 * (abortable), which is how tests and benchmarks exercise concurrency policies, cancellation and timeouts.
 */
export const echoAgent = defineAgent({
  kind: 'echo',
  description: 'Returns its input unchanged, optionally after delay_ms.',
  configSchema: z.strictObject({ delay_ms: z.number().int().min(0).max(600_000).optional() }),
  async run(input, context) {
    if (context.config.delay_ms) await sleep(context.config.delay_ms, context.signal);
    return input;
  },
});
