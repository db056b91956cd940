import type { JsonValue, RunActivity } from '@skreaver/contracts';
import { z } from 'zod';

import { defineAgent } from '../agent-definition';
import type { AgentContext, AgentDefinition } from '../agent-definition';
import { AgentFailure } from '../agent-errors';
import { DEFAULT_RUN_LIMITS } from '../agent-limits';
import { AgentRegistry } from '../agent-registry';
import { AgentRunner } from '../agent-runner';
import type { RunRequest } from '../agent-runner';
import { llmAgent } from '../kinds/llm.agent';
import { toolAgent } from '../kinds/tool.agent';
import type { HttpClient, HttpRequest } from '../network/guarded-http.client';
import { ToolError, defineTool } from '../tools/tool-definition';
import { ToolRegistry } from '../tools/tool-registry';
import { InMemoryRunJournal } from './run-journal';
import type { JournalEntry } from './run-journal';

type Script = (input: JsonValue, context: AgentContext<unknown>) => Promise<JsonValue>;

function scripted(script: Script): AgentDefinition<unknown> {
  return defineAgent<unknown>({ kind: 'scripted', description: 'test', configSchema: z.object({}).passthrough(), run: script });
}

/** Tools that count their executions: `count` answers n, `flaky` fails retryably until told, `refuse` fails for good. */
function countingTools() {
  const executions: Array<{ tool: string; key: string | undefined }> = [];
  const state = { flakyFails: true };
  const tools = [
    defineTool({
      name: 'count',
      description: 'answers how many times it ran',
      inputSchema: z.object({}).passthrough(),
      run: async (_input, context) => {
        executions.push({ tool: 'count', key: context.idempotencyKey });
        return { n: executions.length, dropped: undefined } as unknown as JsonValue;
      },
    }),
    defineTool({
      name: 'flaky',
      description: 'fails retryably while state.flakyFails',
      inputSchema: z.object({}).passthrough(),
      run: async (_input, context) => {
        executions.push({ tool: 'flaky', key: context.idempotencyKey });
        if (state.flakyFails) throw new ToolError('upstream_down', 'try later', true);
        return 'flaky ok';
      },
    }),
    defineTool({
      name: 'refuse',
      description: 'fails for good',
      inputSchema: z.object({}).passthrough(),
      run: async (_input, context) => {
        executions.push({ tool: 'refuse', key: context.idempotencyKey });
        throw new ToolError('forbidden', 'never', false);
      },
    }),
  ];
  return { executions, state, registry: new ToolRegistry(tools as ConstructorParameters<typeof ToolRegistry>[0]) };
}

function newRunner(definitions: AgentDefinition<unknown>[]) {
  const counting = countingTools();
  const activities: RunActivity[] = [];
  const sut = new AgentRunner({
    registry: new AgentRegistry(definitions),
    tools: counting.registry,
    limits: { ...DEFAULT_RUN_LIMITS, timeoutMs: 5_000 },
  });
  let attempt = 0;
  const run = (journal: InMemoryRunJournal, overrides: Partial<RunRequest> = {}) => {
    attempt += 1;
    return sut.run({
      agentId: 'agent-1',
      runId: 'run-1',
      tenantId: 'default',
      attempt,
      kind: 'scripted',
      config: {},
      input: null,
      signal: new AbortController().signal,
      onActivity: async (activity) => {
        activities.push(activity);
      },
      journal,
      ...overrides,
    });
  };
  return { run, activities, ...counting };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('durable steps (run journal replay)', () => {
  it('should journal each tool call and replay its recorded result on the next attempt without executing it', async () => {
    let crash = true;
    const { run, executions, activities } = newRunner([
      scripted(async (_input, context) => {
        const first = await context.tools.call('count', {});
        const second = await context.tools.call('count', {});
        if (crash) throw new Error('worker died');
        const third = await context.tools.call('count', {});
        return [first, second, third] as unknown as JsonValue;
      }),
    ]);
    const journal = new InMemoryRunJournal();

    await expect(run(journal)).rejects.toThrow('worker died');
    crash = false;
    const output = await run(journal);

    expect(output).toEqual([
      { ok: true, result: { n: 1 } },
      { ok: true, result: { n: 2 } },
      { ok: true, result: { n: 3 } },
    ]);
    expect(executions.map((execution) => execution.key)).toEqual(['run-1:1', 'run-1:2', 'run-1:3']);
    expect(await journal.load()).toEqual([
      { ordinal: 1, kind: 'tool', name: 'count', ok: true, result: { n: 1 } },
      { ordinal: 2, kind: 'tool', name: 'count', ok: true, result: { n: 2 } },
      { ordinal: 3, kind: 'tool', name: 'count', ok: true, result: { n: 3 } },
    ]);
    const secondAttempt = activities.filter((activity) => activity.data.attempt === 2);
    expect(secondAttempt.map((activity) => [activity.type, 'replayed' in activity.data])).toEqual([
      ['tool.call', true],
      ['tool.result', true],
      ['tool.call', true],
      ['tool.result', true],
      ['tool.call', false],
      ['tool.result', false],
    ]);
    expect(secondAttempt[1]).toMatchObject({ type: 'tool.result', data: { ok: true, result: { n: 1 }, replayed: true } });
  });

  it('should journal the result before the agent sees it', async () => {
    const order: string[] = [];
    const journal = new InMemoryRunJournal();
    const record = journal.record.bind(journal);
    journal.record = async (entry: JournalEntry) => {
      order.push(`record ${entry.ordinal}`);
      return record(entry);
    };
    const { run } = newRunner([
      scripted(async (_input, context) => {
        await context.tools.call('count', {});
        order.push('agent saw 1');
        await context.step('pick', async () => 'x');
        order.push('agent saw 2');
        return null;
      }),
    ]);

    await run(journal);

    expect(order).toEqual(['record 1', 'agent saw 1', 'record 2', 'agent saw 2']);
  });

  it('should not give the agent a result the journal could not store', async () => {
    const journal = new InMemoryRunJournal();
    journal.record = () => Promise.reject(new Error('database gone'));
    let saw = false;
    const { run, executions } = newRunner([
      scripted(async (_input, context) => {
        await context.tools.call('count', {});
        saw = true;
        return null;
      }),
    ]);

    await expect(run(journal)).rejects.toThrow('database gone');
    expect(saw).toBe(false);
    expect(executions).toHaveLength(1);
  });

  it('should call a retryable failure again on the next attempt but replay a permanent one', async () => {
    const { run, executions, state } = newRunner([
      scripted(async (_input, context) => {
        const refused = await context.tools.call('refuse', {});
        const flaky = await context.tools.call('flaky', {});
        if (!flaky.ok) throw new AgentFailure('tool_failed', 'flaky failed', false);
        return [refused, flaky] as unknown as JsonValue;
      }),
    ]);
    const journal = new InMemoryRunJournal();

    await expect(run(journal)).rejects.toThrow('flaky failed');
    state.flakyFails = false;
    const output = await run(journal);

    expect(output).toEqual([
      { ok: false, error: { code: 'forbidden', message: 'never', retryable: false } },
      { ok: true, result: 'flaky ok' },
    ]);
    // refuse once (replayed the second time); flaky twice, with the same key both times.
    expect(executions).toEqual([
      { tool: 'refuse', key: 'run-1:1' },
      { tool: 'flaky', key: 'run-1:2' },
      { tool: 'flaky', key: 'run-1:2' },
    ]);
    expect((await journal.load()).map((entry) => [entry.ordinal, entry.name, entry.ok])).toEqual([
      [1, 'refuse', false],
      [2, 'flaky', true],
    ]);
  });

  it('should keep later ordinals in place when a retryable failure the agent carried on after is not journaled', async () => {
    const { run, executions, state } = newRunner([
      scripted(async (_input, context) => {
        const flaky = await context.tools.call('flaky', {});
        const counted = await context.tools.call('count', {});
        return [flaky.ok, counted] as unknown as JsonValue;
      }),
    ]);
    const journal = new InMemoryRunJournal();
    await run(journal);
    state.flakyFails = false;

    expect(await run(journal)).toEqual([true, { ok: true, result: { n: 2 } }]);
    expect(executions.map((execution) => `${execution.tool} ${execution.key}`)).toEqual(['flaky run-1:1', 'count run-1:2', 'flaky run-1:1']);
  });

  it('should fail the run for good with nondeterministic_replay when another step is asked for at a recorded place', async () => {
    let tool = 'count';
    const { run, executions } = newRunner([
      scripted(async (_input, context) => {
        try {
          await context.tools.call(tool, {});
        } catch {
          // An agent that swallows the error still fails: the runner holds the breach.
        }
        return 'done';
      }),
    ]);
    const journal = new InMemoryRunJournal();
    await run(journal);
    tool = 'refuse';

    const error = await rejectionOf(run(journal));

    expect(error).toBeInstanceOf(AgentFailure);
    expect(error).toMatchObject({ code: 'nondeterministic_replay', permanent: true });
    expect((error as Error).message).toContain('step 1 of this run was tool "count" but the agent now asked for tool "refuse"');
    expect(executions.map((execution) => execution.tool)).toEqual(['count']);
  });

  it('should hand out journal places in the order concurrent calls were made', async () => {
    const { run } = newRunner([
      scripted(async (_input, context) => {
        const results = await Promise.all([
          context.tools.call('count', {}),
          context.step('a', async () => 'A'),
          context.tools.call('refuse', {}),
          context.step('b', async () => 'B'),
        ]);
        return results.length;
      }),
    ]);
    const journal = new InMemoryRunJournal();
    await run(journal);

    expect((await journal.load()).map((entry) => `${entry.ordinal} ${entry.kind} ${entry.name}`)).toEqual([
      '1 tool count',
      '2 step a',
      '3 tool refuse',
      '4 step b',
    ]);
    // The replay asks in the same order and so passes.
    await expect(run(journal)).resolves.toBe(4);
  });

  describe('context.step', () => {
    it('should run fn once across attempts and give every attempt its result as JSON', async () => {
      let calls = 0;
      let crash = true;
      const seen: JsonValue[] = [];
      const { run } = newRunner([
        scripted(async (_input, context) => {
          const value = await context.step('charge-card', async () => {
            calls += 1;
            return { charged: calls, note: undefined } as unknown as JsonValue;
          });
          seen.push(value);
          if (crash) throw new Error('worker died');
          return value;
        }),
      ]);
      const journal = new InMemoryRunJournal();

      await expect(run(journal)).rejects.toThrow('worker died');
      crash = false;

      expect(await run(journal)).toEqual({ charged: 1 });
      expect(calls).toBe(1);
      expect(seen).toEqual([{ charged: 1 }, { charged: 1 }]);
      expect(await journal.load()).toEqual([{ ordinal: 1, kind: 'step', name: 'charge-card', ok: true, result: { charged: 1 } }]);
    });

    it('should not journal a throw, so the next attempt calls fn again', async () => {
      let calls = 0;
      const { run } = newRunner([
        scripted(async (_input, context) =>
          context.step('flaky', async () => {
            calls += 1;
            if (calls === 1) throw new Error('not yet');
            return calls;
          }),
        ),
      ]);
      const journal = new InMemoryRunJournal();

      await expect(run(journal)).rejects.toThrow('not yet');
      expect(await run(journal)).toBe(2);
      expect(await run(journal)).toBe(2);
      expect(calls).toBe(2);
    });

    it('should fail with invalid_step_result when fn resolves with something JSON cannot carry', async () => {
      const { run } = newRunner([scripted(async (_input, context) => context.step('bad', async () => 10n as unknown as JsonValue))]);

      await expect(run(new InMemoryRunJournal())).rejects.toMatchObject({ code: 'invalid_step_result', permanent: true });
    });

    it('should give the agent the result another worker stored first at the same place', async () => {
      const journal = new InMemoryRunJournal();
      const record = journal.record.bind(journal);
      // Another worker on the same run recorded step 1 while ours was computing it.
      journal.record = async (entry) => {
        await record({ ...entry, result: 'theirs' });
        return record(entry);
      };
      const { run } = newRunner([scripted(async (_input, context) => context.step('pick', async () => 'ours'))]);

      expect(await run(journal)).toBe('theirs');
    });
  });

  it('should replay the tool kind: the steps journaled before a retryable failure are not executed again', async () => {
    const { run, executions, state } = newRunner([toolAgent as AgentDefinition<unknown>]);
    const config = { steps: [{ tool: 'count' }, { tool: 'count' }, { tool: 'flaky' }, { tool: 'count' }], output: ['{{steps.1.result.n}}', '{{steps.3.result.n}}'] };
    const journal = new InMemoryRunJournal();

    await expect(run(journal, { kind: 'tool', config })).rejects.toMatchObject({ code: 'tool_failed', permanent: false });
    state.flakyFails = false;

    expect(await run(journal, { kind: 'tool', config })).toEqual([2, 5]);
    expect(executions.map((execution) => `${execution.tool} ${execution.key}`)).toEqual([
      'count run-1:1',
      'count run-1:2',
      'flaky run-1:3',
      'flaky run-1:3',
      'count run-1:4',
    ]);
  });

  describe('the llm kind', () => {
    it('should journal each model call and replay the replies without calling the model again', async () => {
      const requests: HttpRequest[] = [];
      const replies = [
        { choices: [{ message: { content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'count', arguments: '{}' } }] } }] },
        { choices: [{ message: { content: 'counted' } }] },
      ];
      const model: HttpClient = {
        async request(request) {
          requests.push(request);
          const reply = replies[requests.length - 1];
          return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(reply)), url: request.url, redirects: 0 };
        },
      };
      const { run, executions } = newRunner([llmAgent({ defaults: { baseUrl: 'http://model.test/v1', model: 'm' }, trustedHttp: model }) as AgentDefinition<unknown>]);
      const journal = new InMemoryRunJournal();

      expect(await run(journal, { kind: 'llm', input: 'count once' })).toBe('counted');
      expect(await run(journal, { kind: 'llm', input: 'count once' })).toBe('counted');

      expect(requests).toHaveLength(2);
      expect(executions).toHaveLength(1);
      expect((await journal.load()).map((entry) => `${entry.ordinal} ${entry.kind} ${entry.name}`)).toEqual(['1 model llm', '2 tool count', '3 model llm']);
    });
  });
});
