import { z } from 'zod';

import { MAX_EXPRESSION_LENGTH, MathError, evaluateMath } from './math-evaluator';
import { ToolError, defineTool } from './tool-definition';

/** `math`: evaluates an arithmetic expression safely (its own parser, never eval). */
export const mathTool = defineTool({
  name: 'math',
  description:
    'Evaluates an arithmetic expression: numbers, + - * / % ^, parentheses, unary minus, pi, e, and abs, round, floor, ceil, sqrt, exp, ln, log10, min, max, pow.',
  inputSchema: z.strictObject({
    expression: z.string().min(1).max(MAX_EXPRESSION_LENGTH).describe('e.g. "2 * (3 + 4) ^ 2 - max(1, 5)"'),
  }),
  async run(input) {
    try {
      return { value: evaluateMath(input.expression) };
    } catch (error) {
      if (error instanceof MathError) throw new ToolError('invalid_expression', error.message);
      throw error;
    }
  },
});
