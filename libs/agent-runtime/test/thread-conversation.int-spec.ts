import type { JsonValue, ThreadMessage } from '@skreaver/contracts';
import { startModelStandIn } from '@skreaver/testing';
import type { ModelStandIn } from '@skreaver/testing';
import { z } from 'zod';

import { AgentRegistry, AgentRunner, ConversationThread, GuardedHttpClient, NetworkPolicy, builtInAgents, defineAgent } from '../src';

const HISTORY: ThreadMessage[] = [
  { role: 'user', content: 'what is two plus two?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call-old', type: 'function', function: { name: 'math', arguments: '{"expression":"2+2"}' } }] },
  { role: 'tool', tool_call_id: 'call-old', content: '{"value":4}' },
  { role: 'assistant', content: 'Four.' },
];

// A plugin kind that keeps a counter in the thread's state and answers with the history's length.
const counter = defineAgent({
  kind: 'counter',
  description: 'counts its turns in the thread state',
  configSchema: z.object({}),
  async run(input, context) {
    const previous = (context.thread?.state as { turns?: number } | null)?.turns ?? 0;
    context.thread?.setState({ turns: previous + 1 });
    context.thread?.append({ role: 'user', content: String(input) });
    return { seen: context.thread?.history.length ?? -1, turn: context.thread?.turn ?? -1 };
  },
});

describe('context.thread', () => {
  let model: ModelStandIn;
  let runner: AgentRunner;

  beforeAll(async () => {
    model = await startModelStandIn({
      script: (request) => {
        const last = request.messages.at(-1);
        if (last?.role === 'tool') return { content: `It is ${String(last.content)}` };
        return { content: null, tool_calls: [{ id: `call-${request.n}`, name: 'math', arguments: '{"expression":"3*3"}' }] };
      },
    });
    const http = { maxTimeoutMs: 5_000, maxResponseBytes: 1024 * 1024 };
    const trustedHttp = new GuardedHttpClient(NetworkPolicy.create({ allowPrivateNetworks: true }), http);
    runner = new AgentRunner({
      registry: new AgentRegistry([...builtInAgents({ llm: { defaults: { baseUrl: model.baseUrl, model: 'tiny' }, trustedHttp } }), counter]),
      http,
    });
  });

  afterAll(async () => {
    await model?.close();
  });

  const run = (kind: string, config: Record<string, JsonValue>, input: JsonValue, thread: ConversationThread) =>
    runner.run({
      agentId: '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e',
      runId: '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f',
      tenantId: 'default',
      attempt: 1,
      kind,
      config,
      input,
      signal: new AbortController().signal,
      thread,
    });

  it('should send the llm model the prior messages (user, assistant with tool calls, tool) before the new input, and append the new ones', async () => {
    const thread = new ConversationThread('6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d', 3, HISTORY, null);
    const output = await run('llm', { system: 'Be brief.', tools: ['math'] }, 'and three times three?', thread);

    expect(output).toBe('It is {"value":9}');
    expect(model.requests[0]?.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      ...HISTORY,
      { role: 'user', content: 'and three times three?' },
    ]);
    expect(thread.appended).toEqual([
      { role: 'user', content: 'and three times three?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call-1', type: 'function', function: { name: 'math', arguments: '{"expression":"3*3"}' } }] },
      { role: 'tool', tool_call_id: 'call-1', content: '{"value":9}' },
      { role: 'assistant', content: 'It is {"value":9}' },
    ]);
  });

  it('should give any kind the history, its turn and a JSON state it may replace', async () => {
    const thread = new ConversationThread('6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d', 5, HISTORY, { turns: 4 });
    await expect(run('counter', {}, 'hi', thread)).resolves.toEqual({ seen: 4, turn: 5 });
    expect(thread.state).toEqual({ turns: 5 });
    expect(thread.appended).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('should refuse state that is not JSON and messages that are not chat messages, failing the run for good', async () => {
    const thread = new ConversationThread('6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d', 1, [], null);
    expect(() => thread.setState({ when: new Date() } as unknown as JsonValue)).toThrow(expect.objectContaining({ code: 'invalid_thread_state', permanent: true }));
    expect(() => thread.append({ role: 'robot', content: 'x' } as unknown as ThreadMessage)).toThrow(expect.objectContaining({ code: 'invalid_thread_message' }));
    expect(thread.state).toBeNull();
    expect(thread.appended).toEqual([]);
  });
});
