import type { JsonValue, RunActivity } from '@skreaver/contracts';
import { z } from 'zod';

import { defineAgent } from './agent-definition';
import type { AgentContext, AgentDefinition } from './agent-definition';
import { AgentConfigError, AgentFailure, AgentLimitError } from './agent-errors';
import { DEFAULT_RUN_LIMITS } from './agent-limits';
import { AgentRegistry } from './agent-registry';
import { AgentRunner } from './agent-runner';
import type { RunRequest } from './agent-runner';
import { echoAgent } from './kinds/echo.agent';
import type { MemoryStore } from './memory-store';
import { builtInTools } from './tools/built-in-tools';
import { ToolError, defineTool } from './tools/tool-definition';
import { ToolRegistry } from './tools/tool-registry';

type Script = (input: JsonValue, context: AgentContext<unknown>) => Promise<JsonValue>;

/** A `scripted` kind whose behaviour each test sets. */
function scripted(script: Script): AgentDefinition<unknown> {
  return defineAgent<unknown>({ kind: 'scripted', description: 'test', configSchema: z.object({}).passthrough(), run: script });
}

const failingTool = defineTool({
  name: 'explode',
  description: 'always throws',
  inputSchema: z.strictObject({}),
  run: () => Promise.reject(new Error('kaboom')),
});
const codedTool = defineTool({
  name: 'refuse',
  description: 'fails with a code',
  inputSchema: z.strictObject({}),
  run: () => Promise.reject(new ToolError('not_today', 'come back tomorrow', true)),
});

class MapMemoryStore implements MemoryStore {
  readonly entries = new Map<string, { value: JsonValue; ttlSeconds?: number }>();

  async get(tenantId: string, agentId: string, key: string): Promise<JsonValue | undefined> {
    return this.entries.get(`${tenantId}/${agentId}/${key}`)?.value;
  }

  async put(tenantId: string, agentId: string, key: string, value: JsonValue, options: { ttlSeconds?: number } = {}): Promise<void> {
    this.entries.set(`${tenantId}/${agentId}/${key}`, { value, ttlSeconds: options.ttlSeconds });
  }
}

function newRunner(definitions: AgentDefinition<unknown>[], options: { memory?: MemoryStore } = {}) {
  const activities: RunActivity[] = [];
  const observed: Array<[string, boolean]> = [];
  const sut = new AgentRunner({
    registry: new AgentRegistry(definitions),
    tools: new ToolRegistry([...builtInTools(), failingTool, codedTool] as ConstructorParameters<typeof ToolRegistry>[0]),
    memory: options.memory,
    limits: { ...DEFAULT_RUN_LIMITS, timeoutMs: 5_000 },
    onToolExecuted: (tool, ok) => observed.push([tool, ok]),
  });
  const request = (overrides: Partial<RunRequest> = {}): RunRequest => ({
    agentId: 'agent-1',
    runId: 'run-1',
    tenantId: 'default',
    attempt: 2,
    kind: 'scripted',
    config: {},
    input: { q: 1 },
    signal: new AbortController().signal,
    onActivity: async (activity) => {
      activities.push(activity);
    },
    ...overrides,
  });
  return { sut, activities, observed, request };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe(AgentRunner.name, () => {
  it('should answer an echo run with its input', async () => {
    const { sut, request } = newRunner([echoAgent]);

    expect(await sut.run(request({ kind: 'echo', input: ['ping', null] }))).toEqual(['ping', null]);
  });

  it('should hand the agent its ids, attempt, parsed config, limits and tools', async () => {
    let seen: AgentContext<unknown> | undefined;
    const { sut, request } = newRunner([
      scripted(async (_input, context) => {
        seen = context;
        return null;
      }),
    ]);

    await sut.run(request({ config: { mood: 'calm', limits: { max_steps: 7 }, tools: ['math', 'json'] } }));

    expect(seen).toMatchObject({ agentId: 'agent-1', runId: 'run-1', tenantId: 'default', attempt: 2, config: { mood: 'calm' } });
    expect(seen?.limits).toEqual({ ...DEFAULT_RUN_LIMITS, timeoutMs: 5_000, maxSteps: 7 });
    expect(seen?.tools.names()).toEqual(['json', 'math']);
    expect(seen?.tools.describe().map((tool) => tool.name)).toEqual(['json', 'math']);
  });

  it('should fail with an AgentConfigError before running a kind that is not installed', async () => {
    const { sut, request } = newRunner([echoAgent]);

    await expect(sut.run(request({ kind: 'scripted' }))).rejects.toBeInstanceOf(AgentConfigError);
  });

  it('should log steps, tool calls and partial outputs in order, numbered within the attempt', async () => {
    const { sut, activities, observed, request } = newRunner([
      scripted(async (_input, context) => {
        await context.emit({ type: 'step', name: 'think', detail: { about: 'sums' } });
        const sum = await context.tools.call('math', { expression: '2 + 3' });
        await context.emit({ type: 'output', output: 'half way' });
        await context.emit({ type: 'step', name: 'answer' });
        return sum.ok ? sum.result : null;
      }),
    ]);

    expect(await sut.run(request())).toEqual({ value: 5 });

    expect(activities).toEqual([
      { type: 'run.step', data: { attempt: 2, step: 1, name: 'think', detail: { about: 'sums' } } },
      { type: 'tool.call', data: { attempt: 2, call_id: 'call_2_1', tool: 'math', input: { expression: '2 + 3' } } },
      { type: 'tool.result', data: { attempt: 2, call_id: 'call_2_1', tool: 'math', ok: true, duration_ms: expect.any(Number), result: { value: 5 } } },
      { type: 'run.output', data: { attempt: 2, index: 0, output: 'half way' } },
      { type: 'run.step', data: { attempt: 2, step: 2, name: 'answer' } },
    ]);
    expect(observed).toEqual([['math', true]]);
  });

  describe('streamed text and model calls', () => {
    it('should log deltas as coalesced message.delta events of the current step, before whatever follows them', async () => {
      const { sut, activities, request } = newRunner([
        scripted(async (_input, context) => {
          await context.emit({ type: 'step', name: 'llm' });
          for (const text of ['Hel', 'lo', ' there']) await context.emit({ type: 'delta', text });
          await context.emit({ type: 'output', output: 'partial' });
          await context.emit({ type: 'delta', text: 'last words' });
          return 'Hello there';
        }),
      ]);

      expect(await sut.run(request({ firstDeltaIndex: 4 }))).toBe('Hello there');

      expect(activities).toEqual([
        { type: 'run.step', data: { attempt: 2, step: 1, name: 'llm' } },
        { type: 'message.delta', data: { attempt: 2, step: 1, index: 4, text: 'Hello there' } },
        { type: 'run.output', data: { attempt: 2, index: 0, output: 'partial' } },
        { type: 'message.delta', data: { attempt: 2, step: 1, index: 5, text: 'last words' } },
      ]);
    });

    it('should log the text streamed before a failure, and nothing after a cancellation', async () => {
      const failing = newRunner([
        scripted(async (_input, context) => {
          await context.emit({ type: 'delta', text: 'said before failing' });
          throw new Error('model went away');
        }),
      ]);
      await expect(failing.sut.run(failing.request())).rejects.toThrow('model went away');
      expect(failing.activities).toEqual([{ type: 'message.delta', data: { attempt: 2, index: 0, text: 'said before failing' } }]);

      const controller = new AbortController();
      const cancelled = newRunner([
        scripted(async (_input, context) => {
          await context.emit({ type: 'delta', text: 'never logged' });
          controller.abort(new Error('user asked'));
          return new Promise<JsonValue>(() => undefined);
        }),
      ]);
      await expect(cancelled.sut.run(cancelled.request({ signal: controller.signal }))).rejects.toThrow('user asked');
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(cancelled.activities).toEqual([]);
    });

    it('should hand reported model calls to the run (usage) and to the observer (metrics), logging nothing', async () => {
      const usage: unknown[] = [];
      const calls: unknown[] = [];
      const sut = new AgentRunner({
        registry: new AgentRegistry([
          scripted(async (_input, context) => {
            await context.emit({ type: 'model_call', duration_ms: 250, ok: true, usage: { prompt_tokens: 7, completion_tokens: 3 } });
            await context.emit({ type: 'model_call', duration_ms: 40, ok: false });
            return null;
          }),
        ]),
        onModelCall: (call) => calls.push(call),
      });
      const activities: RunActivity[] = [];

      await sut.run({ agentId: 'a', runId: 'r', tenantId: 'default', attempt: 1, kind: 'scripted', config: {}, input: null, signal: new AbortController().signal, onActivity: async (activity) => void activities.push(activity), onUsage: (used) => usage.push(used) });

      expect(usage).toEqual([{ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }]);
      expect(calls).toEqual([
        { agentKind: 'scripted', seconds: 0.25, ok: true, usage: { prompt_tokens: 7, completion_tokens: 3 } },
        { agentKind: 'scripted', seconds: 0.04, ok: false },
      ]);
      expect(activities).toEqual([]);
    });
  });

  describe('tool calls', () => {
    async function callOnce(name: string, input: unknown, config: Record<string, JsonValue> = {}) {
      const { sut, activities, observed, request } = newRunner([scripted(async (_input, context) => context.tools.call(name, input) as Promise<JsonValue>)]);
      const result = await sut.run(request({ config }));
      return { result, activities, observed };
    }

    it('should give a failed result, not a failed run, for input the schema rejects', async () => {
      const { result, activities } = await callOnce('math', { expression: 42 });

      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('expression') } });
      expect(activities.at(-1)).toMatchObject({ type: 'tool.result', data: { ok: false, error: { code: 'invalid_input' } } });
    });

    it.each([
      ['a tool that is not installed', 'teleport', {}, 'unknown_tool'],
      ['a tool the agent may not call', 'math', { tools: ['json'] }, 'tool_not_allowed'],
    ])('should refuse %s with a failed result', async (_label, name, config, code) => {
      const { result, observed } = await callOnce(name, { expression: '1' }, config as Record<string, JsonValue>);

      expect(result).toMatchObject({ ok: false, error: { code } });
      if (code === 'unknown_tool') expect(observed).toEqual([]);
    });

    it("should turn a tool's exception into a failed, retryable result", async () => {
      const { result, observed } = await callOnce('explode', {});

      expect(result).toEqual({ ok: false, error: { code: 'tool_error', message: 'kaboom', retryable: true } });
      expect(observed).toEqual([['explode', false]]);
    });

    it("should keep a ToolError's code and retryability", async () => {
      expect((await callOnce('refuse', {})).result).toEqual({ ok: false, error: { code: 'not_today', message: 'come back tomorrow', retryable: true } });
    });

    it('should mask credentials of http_request in the tool.call event', async () => {
      const { activities } = await callOnce('http_request', { url: 'http://10.0.0.1/', headers: { Authorization: 'Bearer s3cret', Accept: 'text/plain' } });

      expect(activities[0]).toMatchObject({ type: 'tool.call', data: { input: { headers: { Authorization: '[redacted]', Accept: 'text/plain' } } } });
      expect(JSON.stringify(activities)).not.toContain('s3cret');
    });

    it('should mask every non-harmless header value and URL credential in the tool.call event, under the config policy', async () => {
      const headers = { 'X-Auth': 'xa-1', 'Set-Cookie': 'sc-2', Cookie: 'ck-3', 'X-Signature': 'sig-4', 'Content-Type': 'text/plain' };
      const { activities } = await callOnce('http_request', { url: 'http://u:pw-5@10.0.0.1/?access_token=at-6&q=1', headers });

      expect(activities[0]).toMatchObject({
        type: 'tool.call',
        data: {
          input: {
            url: 'http://u:[redacted]@10.0.0.1/?access_token=[redacted]&q=1',
            headers: { 'X-Auth': '[redacted]', 'Set-Cookie': '[redacted]', Cookie: '[redacted]', 'X-Signature': '[redacted]', 'Content-Type': 'text/plain' },
          },
        },
      });
      expect(JSON.stringify(activities)).not.toMatch(/xa-1|sc-2|ck-3|sig-4|pw-5|at-6/);
    });

    it("should mask credentials in any tool's tool.call input, not only http_request's", async () => {
      const { activities } = await callOnce('math', { expression: '1', api_key: 'plugin-key-7' });

      expect(activities[0]).toMatchObject({ type: 'tool.call', data: { input: { expression: '1', api_key: '[redacted]' } } });
    });

    it('should log a tool result under the same policy, while the agent gets it whole (a later step may need the cookie)', async () => {
      const text = JSON.stringify({ headers: { 'Set-Cookie': 'sid=s3cr3t-9', 'Content-Type': 'application/json' }, token: 'tk-10' });
      const { result, activities } = await callOnce('json', { op: 'parse', text });

      expect(JSON.stringify(result)).toContain('sid=s3cr3t-9');
      const logged = activities.find((activity) => activity.type === 'tool.result');
      expect(JSON.stringify(logged)).not.toMatch(/s3cr3t-9|tk-10/);
      expect(JSON.stringify(logged)).toContain('application/json');
    });

    it('should read and write the agent memory through memory_get and memory_put', async () => {
      const memory = new MapMemoryStore();
      const { sut, request } = newRunner(
        [
          scripted(async (_input, context) => {
            const before = await context.tools.call('memory_get', { key: 'counter' });
            const put = await context.tools.call('memory_put', { key: 'counter', value: 41, ttl_seconds: 60 });
            const after = await context.tools.call('memory_get', { key: 'counter' });
            return [before, put, after].map((result) => (result.ok ? result.result : result.error.code));
          }),
        ],
        { memory },
      );

      expect(await sut.run(request())).toEqual([
        { key: 'counter', found: false, value: null },
        { key: 'counter', stored: true },
        { key: 'counter', found: true, value: 41 },
      ]);
      expect(memory.entries.get('default/agent-1/counter')).toEqual({ value: 41, ttlSeconds: 60 });
    });

    it('should fail memory tools with memory_unavailable when the process has no memory store', async () => {
      expect((await callOnce('memory_get', { key: 'x' })).result).toMatchObject({ ok: false, error: { code: 'memory_unavailable' } });
    });
  });

  describe('limits', () => {
    it('should fail with max_steps_exceeded past max_steps, even when the agent swallows the error', async () => {
      const { sut, activities, request } = newRunner([
        scripted(async (_input, context) => {
          try {
            for (;;) await context.emit({ type: 'step', name: 'loop' });
          } catch {
            return 'gave up quietly';
          }
        }),
      ]);

      const error = await rejectionOf(sut.run(request({ config: { limits: { max_steps: 3 } } })));

      expect(error).toBeInstanceOf(AgentLimitError);
      expect(error).toMatchObject({ code: 'max_steps_exceeded', permanent: true, message: expect.stringContaining('3 steps') });
      expect(activities.filter((activity) => activity.type === 'run.step')).toHaveLength(3);
    });

    it('should fail with max_tool_calls_exceeded on the call past max_tool_calls, without running it', async () => {
      const { sut, activities, request } = newRunner([
        scripted(async (_input, context) => {
          for (;;) await context.tools.call('math', { expression: '1' });
        }),
      ]);

      const error = await rejectionOf(sut.run(request({ config: { limits: { max_tool_calls: 2 } } })));

      expect(error).toMatchObject({ code: 'max_tool_calls_exceeded' });
      expect(activities.filter((activity) => activity.type === 'tool.call')).toHaveLength(2);
    });

    it('should fail with output_too_large for a result above max_output_bytes', async () => {
      const { sut, request } = newRunner([scripted(async () => 'x'.repeat(100))]);

      await expect(sut.run(request({ config: { limits: { max_output_bytes: 50 } } }))).rejects.toMatchObject({ code: 'output_too_large' });
    });

    it('should fail with output_too_large when partial outputs together exceed max_output_bytes', async () => {
      const { sut, activities, request } = newRunner([
        scripted(async (_input, context) => {
          for (let i = 0; i < 10; i++) await context.emit({ type: 'output', output: 'x'.repeat(10) });
          return 'done';
        }),
      ]);

      await expect(sut.run(request({ config: { limits: { max_output_bytes: 40 } } }))).rejects.toMatchObject({ code: 'output_too_large' });
      expect(activities).toHaveLength(3);
    });

    it('should fail with run_timeout at timeout_ms even when the agent ignores its signal, and drop what it does later', async () => {
      let late: Promise<unknown> = Promise.resolve();
      const { sut, activities, request } = newRunner([
        scripted(async (_input, context) => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          late = Promise.all([context.emit({ type: 'step', name: 'too late' }), context.tools.call('math', { expression: '1' })]);
          return 'ignored';
        }),
      ]);
      const started = performance.now();

      const error = await rejectionOf(sut.run(request({ config: { limits: { timeout_ms: 50 } } })));

      expect(error).toMatchObject({ name: 'AgentLimitError', code: 'run_timeout', message: expect.stringContaining('50 ms') });
      expect(performance.now() - started).toBeLessThan(250);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const [, lateCall] = (await late) as [unknown, unknown];
      expect(lateCall).toMatchObject({ ok: false, error: { code: 'run_closed' } });
      expect(activities).toEqual([]);
    });

    it('should reject with the cancellation reason at once, however long the agent takes', async () => {
      const controller = new AbortController();
      const { sut, request } = newRunner([scripted(() => new Promise(() => undefined))]);
      setTimeout(() => controller.abort(new Error('user asked')), 20);

      await expect(sut.run(request({ signal: controller.signal }))).rejects.toThrow('user asked');
    });

    it('should abort the sleep tool when the run is cancelled', async () => {
      const controller = new AbortController();
      let slept: unknown;
      const { sut, request } = newRunner([
        scripted(async (_input, context) => {
          slept = await context.tools.call('sleep', { ms: 10_000 });
          return null;
        }),
      ]);
      setTimeout(() => controller.abort(new Error('stop')), 20);

      await expect(sut.run(request({ signal: controller.signal }))).rejects.toThrow('stop');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(slept).toMatchObject({ ok: false, error: { code: 'aborted' } });
    });
  });

  it('should turn an undefined result into null and refuse a result that is not JSON', async () => {
    const { sut, request } = newRunner([scripted(async (input) => (input === 'nothing' ? (undefined as unknown as JsonValue) : (new Date(0) as unknown as JsonValue)))]);

    expect(await sut.run(request({ input: 'nothing' }))).toBeNull();
    const error = await rejectionOf(sut.run(request({ input: 'date' })));
    expect(error).toBeInstanceOf(AgentFailure);
    expect(error).toMatchObject({ code: 'invalid_output', permanent: true });
  });
});
