import { JsonValue } from '@skreaver/contracts';
import { z } from 'zod';

import { defineAgent } from '../agent-definition';
import { AgentFailure } from '../agent-errors';
import { JsonPathError, renderTemplate } from '../json-path';

/** Most steps one tool agent run may list (its `max_steps` limit applies too). */
export const MAX_TOOL_STEPS = 100;

const ToolStep = z.strictObject({
  tool: z.string().min(1).max(64),
  /** The tool's input; strings may hold `{{input.…}}` and `{{steps.<n>.result.…}}` placeholders. */
  input: JsonValue.default({}),
  name: z.string().min(1).max(200).optional(),
  /** Carry on after this step fails (its entry then has `ok: false` and an `error`); default false. */
  continue_on_error: z.boolean().default(false),
});
type ToolStep = z.infer<typeof ToolStep>;

const Steps = z.array(ToolStep).min(1).max(MAX_TOOL_STEPS);

/**
 * Runs a list of tool calls in order: the config's `steps`, or the input's `{"steps": [...]}` when the config has
 * none. Each step's input may reference the run's input and earlier results with `{{input.x}}` and
 * `{{steps.0.result.field}}` (`steps.N` is `{tool, ok, result, error}`); other `{{…}}` are left for the tool. The output is the last step's result, or the config's `output` template filled in.
 */
export const toolAgent = defineAgent({
  kind: 'tool',
  description: 'Runs tool calls in order (from config.steps or input.steps); later steps can use earlier results through {{steps.N.result...}}.',
  configSchema: z.strictObject({
    steps: Steps.optional(),
    /** Template of the output (e.g. `{"sum": "{{steps.1.result.value}}"}`); default: the last step's result. */
    output: JsonValue.optional(),
  }),
  async run(input, context) {
    const steps = context.config.steps ?? stepsFromInput(input);
    const done: JsonValue[] = [];
    let last: JsonValue = null;
    for (const [index, step] of steps.entries()) {
      await context.emit({ type: 'step', name: step.name ?? `tool:${step.tool}`, detail: { index, tool: step.tool } });
      const stepInput = fill(step.input, { input, steps: done }, `steps.${index}.input`);
      const result = await context.tools.call(step.tool, stepInput);
      if (result.ok) {
        done.push({ tool: step.tool, ok: true, result: result.result, error: null });
        last = result.result;
        continue;
      }
      const { code, message, retryable } = result.error;
      done.push({ tool: step.tool, ok: false, result: null, error: { code, message } });
      if (step.continue_on_error) continue;
      // A refused or malformed call fails the same way next time; a timeout or an outage may not.
      throw new AgentFailure('tool_failed', `step ${index} (${step.tool}) failed: ${code}: ${message}`, !retryable);
    }
    return context.config.output === undefined ? last : fill(context.config.output, { input, steps: done }, 'output');
  },
});

function stepsFromInput(input: JsonValue): ToolStep[] {
  const parsed = z.object({ steps: Steps }).safeParse(input);
  if (parsed.success) return parsed.data.steps;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
  throw new AgentFailure('invalid_input', `a tool agent without config.steps needs input {"steps": [...]}: ${issues}`, true);
}

function fill(template: JsonValue, scope: JsonValue, where: string): JsonValue {
  try {
    return renderTemplate(template, scope, { roots: ['input', 'steps'] });
  } catch (error) {
    if (error instanceof JsonPathError) throw new AgentFailure('template_error', `${where}: ${error.message}`, true);
    throw error;
  }
}
