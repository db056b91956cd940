import type { Agent, Run, Thread, ThreadHistoryPage, ThreadMessage } from '@skreaver/contracts';
import { lastUserMessage, startModelStandIn, waitFor } from '@skreaver/testing';
import type { ModelStandIn, StandInMessage } from '@skreaver/testing';

import { call } from '../support/api-client';
import { socketIoClient } from '../support/gateway-clients';
import type { LiveClient } from '../support/gateway-clients';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

const TURNS = 50;
// Small enough that the conversation is trimmed long before the 50th turn.
const MAX_MESSAGES = 12;
const SYSTEM = 'You are a patient listener.';

/**
 * What the thread should hold, written apart from the product's trimming: the oldest messages go first while there
 * are more than MAX_MESSAGES, an assistant message asking for tools only together with its tool results.
 */
function expectedHistory(conversation: ThreadMessage[]): ThreadMessage[] {
  let kept = [...conversation];
  while (kept.length > MAX_MESSAGES) {
    let cut = 1;
    while (kept[cut]?.role === 'tool') cut += 1;
    kept = kept.slice(cut);
  }
  return kept;
}

/** A message as the model received it, in the thread's shape (what the next turn must send again). */
function asThreadMessage(message: StandInMessage): ThreadMessage {
  return JSON.parse(JSON.stringify(message)) as ThreadMessage;
}

// A 50-turn conversation with an `llm` agent on a coordinator, its inputs over REST and its answers watched over
// socket.io, against the local OpenAI-compatible stand-in: every turn, the model must receive the system prompt, the
// whole (trimmed) history of the thread and the new input — every fifth turn goes through a tool call.
describe('a thread conversation of 50 turns over socket.io', () => {
  let stack: Stack;
  let model: ModelStandIn;
  let live: LiveClient;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);

  beforeAll(async () => {
    model = await startModelStandIn({
      script: (request) => {
        const last = request.messages.at(-1);
        const input = lastUserMessage(request);
        if (last?.role === 'tool') return { content: `${input}: the tool said ${String(last.content)}` };
        const turn = Number(input.replace('turn ', ''));
        if (turn % 5 === 0) return { content: null, tool_calls: [{ name: 'math', arguments: { expression: `${turn}*2` } }] };
        return { content: `heard ${input} after ${request.messages.length - 2} earlier messages` };
      },
    });
    stack = await startStack({
      env: {
        SKREAVER_LLM_BASE_URL: model.baseUrl,
        SKREAVER_LLM_MODEL: 'stand-in',
        THREAD_MAX_MESSAGES: String(MAX_MESSAGES),
      },
    });
    const gateway = stack.gateways[0];
    if (!gateway) throw new Error('the stack has no gateway');
    live = await socketIoClient(gateway.url, stack.adminToken);
  }, 60_000);

  afterAll(async () => {
    live?.close();
    await stack?.stop();
    await model?.close();
  }, 30_000);

  it('should send the model the whole trimmed history every turn and keep the thread to it', async () => {
    const agent = (await api<Agent>('POST', '/agents', { name: 'listener', kind: 'llm', config: { system: SYSTEM, tools: ['math'] } })).body;
    const thread = (await api<Thread>('POST', '/threads', { agent_id: agent.id, metadata: { e2e: true } })).body;
    expect((await live.subscribe({ agent_id: agent.id })).ok).toBe(true);

    const conversation: ThreadMessage[] = [];
    for (let turn = 1; turn <= TURNS; turn++) {
      const input = `turn ${turn}`;
      const history = expectedHistory(conversation);
      const asked = model.requests.length;
      const created = await api<Run>('POST', `/threads/${thread.id}/runs`, { input });
      expect(created.status).toBe(202);
      expect(created.body.thread_id).toBe(thread.id);

      const completed = await waitFor(
        () => live.events.find((event) => event.run_id === created.body.id && (event.type === 'run.completed' || event.type === 'run.failed')),
        { timeoutMs: 15_000, what: `run.completed of turn ${turn} on the socket` },
      );
      expect(completed.type).toBe('run.completed');
      const requests = model.requests.slice(asked);
      expect(requests).toHaveLength(turn % 5 === 0 ? 2 : 1);
      expect(requests[0]?.messages).toEqual([{ role: 'system', content: SYSTEM }, ...history, { role: 'user', content: input }]);

      // This turn's messages as the model saw them, then its answer: what the next turn must send again.
      const exchanged = (requests.at(-1)?.messages ?? []).slice(history.length + 1).map(asThreadMessage);
      const output = completed.type === 'run.completed' ? completed.data.output : null;
      expect(output).toEqual(turn % 5 === 0 ? expect.stringMatching(/^turn \d+: the tool said \{"value":\d+\}$/) : `heard ${input} after ${history.length} earlier messages`);
      conversation.push(...exchanged, { role: 'assistant', content: String(output) });
    }

    const final = await waitFor(
      async () => {
        const current = (await api<Thread>('GET', `/threads/${thread.id}`)).body;
        return current.status === 'idle' && current;
      },
      { what: 'the thread to be idle' },
    );
    expect(final).toMatchObject({ turns: TURNS, message_count: expectedHistory(conversation).length });
    const latest = (await api<ThreadHistoryPage>('GET', `/threads/${thread.id}/history?limit=1`)).body.items[0];
    expect(latest).toMatchObject({ step: TURNS, messages: expectedHistory(conversation) });
    // Trimmed: the conversation had 50 turns, the thread keeps the newest MAX_MESSAGES messages (at most).
    expect(conversation.length).toBeGreaterThan(2 * TURNS);
    expect(latest?.messages.length).toBeLessThanOrEqual(MAX_MESSAGES);
  }, 300_000);
});
