import type { JsonValue, RunActivity } from '@skreaver/contracts';

import { AgentRegistry } from '../agent-registry';
import { AgentRunner } from '../agent-runner';
import { toolAgent } from './tool.agent';

function newRunner() {
  const activities: RunActivity[] = [];
  const sut = new AgentRunner({ registry: new AgentRegistry([toolAgent]) });
  const run = (config: Record<string, JsonValue>, input: JsonValue = null) =>
    sut.run({
      agentId: 'agent-1',
      runId: 'run-1',
      tenantId: 'default',
      attempt: 1,
      kind: 'tool',
      config,
      input,
      signal: new AbortController().signal,
      onActivity: async (activity) => {
        activities.push(activity);
      },
    });
  return { run, activities };
}

describe('tool agent', () => {
  it('should run the config steps in order, feeding results forward, and answer with the last result', async () => {
    const { run, activities } = newRunner();
    const steps: JsonValue = [
      { tool: 'math', input: { expression: '{{input.a}} * 10' } },
      { tool: 'math', input: { expression: '{{steps.0.result.value}} + 1' }, name: 'add one' },
      { tool: 'text', input: { op: 'template', template: 'total={{v}}', values: { v: '{{steps.1.result.value}}' } } },
    ];

    expect(await run({ steps }, { a: 4 })).toEqual({ text: 'total=41' });

    expect(activities.map((activity) => (activity.type === 'run.step' ? `${activity.type}:${activity.data.name}` : activity.type))).toEqual([
      'run.step:tool:math',
      'tool.call',
      'tool.result',
      'run.step:add one',
      'tool.call',
      'tool.result',
      'run.step:tool:text',
      'tool.call',
      'tool.result',
    ]);
    expect(activities[4]).toMatchObject({ type: 'tool.call', data: { input: { expression: '40 + 1' } } });
  });

  it('should take the steps from the input when the config has none', async () => {
    const { run } = newRunner();

    expect(await run({}, { steps: [{ tool: 'json', input: { op: 'parse', text: '[1,2]' } }] })).toEqual({ value: [1, 2] });
  });

  it('should fill the output template from the steps', async () => {
    const { run } = newRunner();
    const steps: JsonValue = [{ tool: 'math', input: { expression: '1 + 1' } }, { tool: 'text', input: { op: 'upper', text: 'ok' } }];

    expect(await run({ steps, output: { sum: '{{steps.0.result.value}}', word: '{{steps.1.result.text}}' } })).toEqual({ sum: 2, word: 'OK' });
  });

  it('should fail the run for good when a step fails with an error that will not change', async () => {
    const { run } = newRunner();

    await expect(run({ steps: [{ tool: 'math', input: { expression: '1 / 0' } }, { tool: 'math', input: { expression: '1' } }] })).rejects.toMatchObject({
      code: 'tool_failed',
      permanent: true,
      message: expect.stringContaining('step 0 (math) failed: invalid_expression'),
    });
  });

  it('should carry on past a step marked continue_on_error and show its error to later steps', async () => {
    const { run } = newRunner();
    const steps: JsonValue = [
      { tool: 'math', input: { expression: 'nope' }, continue_on_error: true },
      { tool: 'text', input: { op: 'upper', text: '{{steps.0.error.code}}' } },
    ];

    expect(await run({ steps })).toEqual({ text: 'INVALID_EXPRESSION' });
  });

  it.each([
    ['no steps anywhere', {}, 'hello', 'invalid_input'],
    ['an empty step list', {}, { steps: [] }, 'invalid_input'],
    ['a placeholder that leads nowhere', { steps: [{ tool: 'math', input: { expression: '{{steps.3.result}}' } }] }, null, 'template_error'],
  ])('should fail for good on %s', async (_label, config, input, code) => {
    const { run } = newRunner();

    await expect(run(config as Record<string, JsonValue>, input as JsonValue)).rejects.toMatchObject({ code, permanent: true });
  });

  it('should count its steps against max_steps', async () => {
    const { run } = newRunner();
    const steps = Array.from({ length: 3 }, () => ({ tool: 'math', input: { expression: '1' } }));

    await expect(run({ steps, limits: { max_steps: 2 } })).rejects.toMatchObject({ code: 'max_steps_exceeded' });
  });

  it('should refuse a step whose tool the agent may not call', async () => {
    const { run } = newRunner();

    await expect(run({ steps: [{ tool: 'sleep', input: { ms: 1 } }], tools: ['math'] })).rejects.toMatchObject({
      code: 'tool_failed',
      message: expect.stringContaining('tool_not_allowed'),
    });
  });
});
