import { z } from 'zod';

import { defineAgent } from '../agent-definition';

/** Answers with its input: the smallest agent, for wiring checks and benchmarks. */
export const echoAgent = defineAgent({
  kind: 'echo',
  description: 'Returns its input unchanged.',
  configSchema: z.object({}),
  async run(input) {
    return input;
  },
});
