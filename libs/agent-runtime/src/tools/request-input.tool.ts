import { InputSchema } from '@skreaver/contracts';
import { z } from 'zod';

import { inputSchemaProblem } from '../input/human-input';
import { ToolError, defineTool } from './tool-definition';

/**
 * Asks a person and returns their answer: the run waits (`waiting_input`, its worker slot given back) until
 * `POST /runs/{id}/resume` answers, then replays and this call returns the answer. Opt-in: an agent gets it only
 * when its config's `tools` lists it.
 */
export const requestInputTool = defineTool({
  name: 'request_input',
  description:
    'Ask a person a question and wait for their answer (the run pauses until they reply). Give a clear prompt and, if the answer must have a shape, a JSON Schema.',
  inputSchema: z.strictObject({
    prompt: z.string().min(1).max(4_000).describe('The question for the person'),
    schema: InputSchema.optional().describe('JSON Schema the answer must satisfy'),
  }),
  async run(input, context) {
    if (!context.input) throw new ToolError('input_unavailable', 'this run cannot wait for input');
    const problem = input.schema === undefined ? null : inputSchemaProblem(input.schema);
    if (problem) throw new ToolError('invalid_input', problem);
    return context.input.wait({ prompt: input.prompt, ...(input.schema === undefined ? {} : { schema: input.schema }) });
  },
});
