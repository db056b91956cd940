import type { JsonValue, RunActivity } from '@skreaver/contracts';
import { z } from 'zod';

import { defineAgent } from '../agent-definition';
import type { AgentContext } from '../agent-definition';
import { AgentFailure } from '../agent-errors';
import { DEFAULT_RUN_LIMITS } from '../agent-limits';
import { AgentRegistry } from '../agent-registry';
import { AgentRunner } from '../agent-runner';
import type { RunRequest } from '../agent-runner';
import { builtInTools } from '../tools/built-in-tools';
import { defineTool } from '../tools/tool-definition';
import { ToolRegistry } from '../tools/tool-registry';
import { HumanInput, InputRequired, isInputRequired } from './human-input';

type Script = (input: JsonValue, context: AgentContext<unknown>) => Promise<JsonValue>;

let script: Script = async () => null;
const scripted = defineAgent<unknown>({ kind: 'scripted', description: 'test', configSchema: z.object({}).passthrough(), run: (input, context) => script(input, context) });

/** A tool that counts its executions, so a test sees whether an approval let it run. */
let charges = 0;
const chargeTool = defineTool({
  name: 'charge',
  description: 'charges a card',
  inputSchema: z.strictObject({ amount: z.number(), card_token: z.string().optional() }),
  run: async (input) => {
    charges += 1;
    return { charged: input.amount };
  },
});

function setUp(config: Record<string, unknown> = {}) {
  const activities: RunActivity[] = [];
  const sut = new AgentRunner({
    registry: new AgentRegistry([scripted]),
    tools: new ToolRegistry([...builtInTools(), chargeTool] as ConstructorParameters<typeof ToolRegistry>[0]),
    limits: { ...DEFAULT_RUN_LIMITS, timeoutMs: 5_000 },
    inputTimeoutSeconds: 600,
  });
  const request = (inputs?: Record<string, JsonValue>): RunRequest => ({
    agentId: 'agent-1',
    runId: 'run-1',
    tenantId: 'default',
    attempt: 1,
    kind: 'scripted',
    config,
    input: null,
    signal: new AbortController().signal,
    onActivity: async (activity) => {
      activities.push(activity);
    },
    ...(inputs ? { inputs } : {}),
  });
  return { sut, request, activities };
}

async function suspensionOf(promise: Promise<unknown>): Promise<InputRequired> {
  try {
    await promise;
  } catch (error) {
    if (isInputRequired(error)) return error;
    throw error;
  }
  throw new Error('the run did not suspend');
}

beforeEach(() => {
  charges = 0;
});

describe('HumanInput', () => {
  it('should number requests in order, input_1 then input_2', async () => {
    const first = new HumanInput({});
    const answered = new HumanInput({ input_1: 'Paris' });

    const error = await first.wait({ prompt: 'city?' }).catch((caught: unknown) => caught);
    const second = await answered.wait({ prompt: 'city?' }).then(() => answered.wait({ prompt: 'date?' }).catch((caught: unknown) => caught));

    expect((error as InputRequired).inputs.map((input) => input.id)).toEqual(['input_1']);
    expect((second as InputRequired).inputs.map((input) => input.id)).toEqual(['input_2']);
  });

  it('should return the recorded answer by id without suspending', async () => {
    const input = new HumanInput({ input_1: { city: 'Paris' } });

    await expect(input.wait({ prompt: 'city?' })).resolves.toEqual({ city: 'Paris' });
    expect(input.suspended).toBeUndefined();
  });

  it('should carry the prompt, schema, timeout and default in the suspension', async () => {
    const input = new HumanInput({}, 120);

    const error = (await input.wait({ prompt: ' city? ', schema: { type: 'string' }, default: 'Oslo' }).catch((caught: unknown) => caught)) as InputRequired;

    expect(error.inputs).toEqual([{ id: 'input_1', kind: 'input', prompt: 'city?', schema: { type: 'string' }, timeout_seconds: 120, default: 'Oslo' }]);
  });

  it.each([
    ['an empty prompt', { prompt: '  ' }],
    ['a schema zod cannot compile', { prompt: 'x', schema: { type: 'nonsense' } }],
    ['a timeout of zero', { prompt: 'x', timeout_seconds: 0 }],
  ])('should fail permanently with invalid_input_request for %s', async (_label, request) => {
    const error = await new HumanInput({}).wait(request as never).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AgentFailure);
    expect(error).toMatchObject({ code: 'invalid_input_request', permanent: true });
  });

  it('should recognise a suspension thrown by another copy of the library (duck-typed)', () => {
    const foreign = Object.assign(new Error('waits'), { name: 'InputRequired', inputs: [] });

    expect(isInputRequired(foreign)).toBe(true);
    expect(isInputRequired(new Error('InputRequired'))).toBe(false);
  });
});

describe('AgentRunner with human input', () => {
  it('should suspend a run whose agent calls context.waitForInput, and resolve with the answer on replay', async () => {
    script = async (_input, context) => ({ answer: await context.waitForInput({ prompt: 'Which city?', schema: { type: 'string' } }) });
    const { sut, request } = setUp();

    const suspension = await suspensionOf(sut.run(request()));
    const output = await sut.run(request({ input_1: 'Paris' }));

    expect(suspension.inputs).toEqual([{ id: 'input_1', kind: 'input', prompt: 'Which city?', schema: { type: 'string' }, timeout_seconds: 600 }]);
    expect(output).toEqual({ answer: 'Paris' });
  });

  it('should still suspend a run whose agent caught the signal and returned', async () => {
    script = async (_input, context) => {
      try {
        await context.waitForInput({ prompt: 'Which city?' });
      } catch {
        // a careless agent
      }
      return 'done anyway';
    };
    const { sut, request } = setUp();

    const suspension = await suspensionOf(sut.run(request()));

    expect(suspension.inputs.map((input) => input.id)).toEqual(['input_1']);
  });

  it('should suspend on the request_input tool (listed in tools) and give the answer as its result on replay', async () => {
    script = async (_input, context) => context.tools.call('request_input', { prompt: 'Your name?', schema: { type: 'string' } });
    const { sut, request, activities } = setUp({ tools: ['request_input'] });

    const suspension = await suspensionOf(sut.run(request()));
    const result = await sut.run(request({ input_1: 'Ada' }));

    expect(suspension.inputs).toEqual([{ id: 'input_1', kind: 'input', prompt: 'Your name?', schema: { type: 'string' }, timeout_seconds: 600 }]);
    expect(result).toEqual({ ok: true, result: 'Ada' });
    expect(activities.filter((activity) => activity.type === 'tool.result')).toEqual([
      { type: 'tool.result', data: expect.objectContaining({ tool: 'request_input', ok: true, result: 'Ada' }) },
    ]);
  });

  it('should offer request_input only to agents whose tools list it', async () => {
    let offered: string[] = [];
    script = async (_input, context) => {
      offered = context.tools.names();
      return null;
    };
    const { sut, request } = setUp();

    await sut.run(request());

    expect(offered).not.toContain('request_input');
    expect(offered).toContain('math');
  });

  it('should wait for approval before calling a tool the config marks, logging no tool call meanwhile', async () => {
    script = async (_input, context) => context.tools.call('charge', { amount: 5, card_token: 'tok_secret' });
    const { sut, request, activities } = setUp({ approval: { tools: ['charge'], timeout_seconds: 60 } });

    const suspension = await suspensionOf(sut.run(request()));

    expect(suspension.inputs).toEqual([
      {
        id: 'input_1',
        kind: 'approval',
        prompt: 'Allow the tool charge to run with this input?',
        tool: 'charge',
        tool_input: { amount: 5, card_token: '[redacted]' },
        timeout_seconds: 60,
      },
    ]);
    expect(charges).toBe(0);
    expect(activities.filter((activity) => activity.type === 'tool.call')).toEqual([]);
  });

  it('should call the tool once approved', async () => {
    script = async (_input, context) => context.tools.call('charge', { amount: 5 });
    const { sut, request } = setUp({ approval: { tools: ['charge'] } });

    const result = await sut.run(request({ input_1: { approved: true } }));

    expect(result).toEqual({ ok: true, result: { charged: 5 } });
    expect(charges).toBe(1);
  });

  it('should give the agent a failed approval_denied result once refused, without calling the tool', async () => {
    script = async (_input, context) => context.tools.call('charge', { amount: 5 });
    const { sut, request, activities } = setUp({ approval: { tools: ['charge'] } });

    const result = await sut.run(request({ input_1: { approved: false, reason: 'too much' } }));

    expect(result).toEqual({ ok: false, error: { code: 'approval_denied', message: 'a person refused this charge call: too much', retryable: false } });
    expect(charges).toBe(0);
    expect(activities.find((activity) => activity.type === 'tool.result')?.data).toMatchObject({ ok: false, error: { code: 'approval_denied' } });
  });

  it('should not ask about tools the config does not mark', async () => {
    script = async (_input, context) => context.tools.call('math', { expression: '1+1' });
    const { sut, request } = setUp({ approval: { tools: ['charge'] } });

    await expect(sut.run(request())).resolves.toMatchObject({ ok: true });
  });

  it('should number approvals and inputs in one sequence', async () => {
    script = async (_input, context) => {
      await context.tools.call('charge', { amount: 1 });
      return context.waitForInput({ prompt: 'receipt email?' });
    };
    const { sut, request } = setUp({ approval: { tools: ['charge'] } });

    const suspension = await suspensionOf(sut.run(request({ input_1: { approved: true } })));

    expect(suspension.inputs.map((input) => [input.id, input.kind])).toEqual([['input_2', 'input']]);
  });

  it('should refuse an approval section naming no tools', () => {
    expect(new AgentRegistry([scripted]).validateConfig('scripted', { approval: { tools: [] } }).success).toBe(false);
  });
});
