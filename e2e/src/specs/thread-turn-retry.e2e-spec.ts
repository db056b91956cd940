import type { Agent, Run, RunEventV1, Thread, ThreadHistoryPage } from '@skreaver/contracts';
import { lastUserMessage, startModelStandIn, waitFor } from '@skreaver/testing';
import type { ModelStandIn, StandInRequest } from '@skreaver/testing';

import { call } from '../support/api-client';
import { readEventStream } from '../support/sse-client';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

const SYSTEM = 'You are a careful booker.';
const ANSWER = 'Your total is 42 euros; the booking is made and a receipt is on its way to you.';
// The first answer to the turn's second model call streams this slowly (ms per chunk): it is in flight at the kill.
const SLOW_CHUNK_MS = 400;
// What each model call of the killed turn reports (the usage chunk comes last: a call cut off reports none).
const USAGE = { prompt_tokens: 10, completion_tokens: 5 };

/** The messages a request carried, without the system prompt, as role/content pairs. */
const roles = (request: StandInRequest | undefined) => (request?.messages ?? []).filter((message) => message.role !== 'system').map((message) => message.role);

// A thread turn retried after a SIGKILL of the coordinator executing it (and one that waits for input across a SIGKILL): an `llm` agent on a coordinator, against the
// local model stand-in; the turn's first model call asks for the `math` tool, the second (streamed slowly) is in
// flight when the coordinator is killed. The next coordinator takes the run over, replays the journaled model call
// and tool call, asks the model the second time again, and the thread records the turn once.
describe('a thread turn whose coordinator is killed mid-turn', () => {
  let stack: Stack;
  let model: ModelStandIn;
  let coordinator: ServiceProcess;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);

  beforeAll(async () => {
    let slowed = false;
    model = await startModelStandIn({
      script: (request) => {
        const last = request.messages.at(-1);
        const input = lastUserMessage(request);
        if (input === 'book a table' && last?.role === 'user') return { content: null, tool_calls: [{ id: 'call_ask', name: 'request_input', arguments: { prompt: 'Which city?', schema: { type: 'string' } } }] };
        if (input === 'book a table' && last?.role === 'tool') return { content: `Booked in ${String(JSON.parse(String(last.content)))}.` };
        if (input === 'add it up' && last?.role === 'user') return { content: null, tool_calls: [{ id: 'call_sum', name: 'math', arguments: { expression: '40+2' } }], usage: USAGE };
        if (input === 'add it up' && last?.role === 'tool') {
          const first = !slowed;
          slowed = true;
          return { content: ANSWER, usage: USAGE, ...(first ? { chunkDelayMs: SLOW_CHUNK_MS } : {}) };
        }
        return { content: `heard "${input}" after ${roles(request).length - 1} earlier messages` };
      },
    });
    stack = await startStack({
      coordinators: 1,
      env: {
        SKREAVER_LLM_BASE_URL: model.baseUrl,
        SKREAVER_LLM_MODEL: 'stand-in',
        // A killed coordinator's run moves to the next one within lock + 2 stalled checks: keep that short.
        RUN_LOCK_DURATION_MS: '2000',
        RUN_STALLED_CHECK_MS: '500',
      },
    });
    coordinator = stack.coordinator;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await model?.close();
  }, 30_000);

  const run = async (id: string) => (await api<Run>('GET', `/runs/${id}`)).body;
  const thread = async (id: string) => (await api<Thread>('GET', `/threads/${id}`)).body;
  const finished = (id: string) =>
    waitFor(async () => { const current = await run(id); return ['completed', 'failed', 'cancelled'].includes(current.status) && current; }, { timeoutMs: 60_000, what: `run ${id} to finish` });
  const idle = (id: string) => waitFor(async () => { const current = await thread(id); return current.status === 'idle' && current; }, { timeoutMs: 30_000, what: `thread ${id} to be idle` });
  const callsFor = (input: string) => model.requests.filter((request) => lastUserMessage(request) === input);

  it('should complete the turn once: each completed model call made once, one checkpoint, the history sent once on the next turn', async () => {
    const agent = (await api<Agent>('POST', '/agents', { name: 'booker', kind: 'llm', config: { system: SYSTEM, tools: ['math'] } })).body;
    const conversation = (await api<Thread>('POST', '/threads', { agent_id: agent.id })).body;
    const opening = (await api<Run>('POST', `/threads/${conversation.id}/runs`, { input: 'hello' })).body;
    expect(await finished(opening.id)).toMatchObject({ status: 'completed' });
    await idle(conversation.id);

    const turn = (await api<Run>('POST', `/threads/${conversation.id}/runs`, { input: 'add it up' })).body;
    // The tool's result went back to the model (so call 1 and the tool call are journaled), and its answer streams.
    await waitFor(async () => (await api<{ items: RunEventV1[] }>('GET', `/runs/${turn.id}/events?limit=1000`)).body.items.some((event) => event.type === 'message.delta') || undefined, {
      timeoutMs: 30_000,
      what: 'the second model call to stream',
    });
    expect(await thread(conversation.id)).toMatchObject({ status: 'busy', turns: 1 });
    coordinator.child.kill('SIGKILL');
    expect(await coordinator.exited).toEqual({ code: null, signal: 'SIGKILL' });
    coordinator = await stack.launch('mesh-coordinator');

    const done = await finished(turn.id);

    expect(done).toMatchObject({ status: 'completed', output: ANSWER, attempts: 2 });
    // The tokens of the two calls that completed: call 1 stored by the killed attempt as it ended, call 2 by the retry.
    expect(done.usage).toEqual({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 });
    // Call 1 (asking for the tool) completed and was journaled: made once. Call 2 was in flight at the kill: twice.
    expect(callsFor('add it up').map((request) => roles(request).at(-1))).toEqual(['user', 'tool', 'tool']);
    const log = (await api<{ items: RunEventV1[] }>('GET', `/runs/${turn.id}/events?limit=1000`)).body.items;
    expect(log.map((event) => event.seq)).toEqual(log.map((_event, index) => index + 1));
    expect(log.filter((event) => event.type === 'tool.result').map((event) => event.type === 'tool.result' && [event.data.attempt, event.data.replayed ?? false])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(log.filter((event) => event.type === 'run.completed')).toHaveLength(1);

    const after = await idle(conversation.id);
    expect(after).toMatchObject({ turns: 2, message_count: 6 });
    const checkpoints = (await api<ThreadHistoryPage>('GET', `/threads/${conversation.id}/history`)).body.items;
    expect(checkpoints.map((checkpoint) => [checkpoint.run_id, checkpoint.step])).toEqual([
      [turn.id, 2],
      [opening.id, 1],
    ]);
    expect(checkpoints[0]?.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'tool', 'assistant']);

    // The next turn sends the model that history once: nothing of the killed attempt twice.
    const next = (await api<Run>('POST', `/threads/${conversation.id}/runs`, { input: 'thanks' })).body;
    expect(await finished(next.id)).toMatchObject({ status: 'completed', output: 'heard "thanks" after 6 earlier messages' });
    expect(callsFor('thanks')).toHaveLength(1);
    expect(roles(callsFor('thanks')[0])).toEqual(['user', 'assistant', 'user', 'assistant', 'tool', 'assistant', 'user']);
    process.stdout.write(`thread turn retry (1 kill): model requests of the turn ${callsFor('add it up').length}, attempts ${done.attempts}\n`);
  }, 120_000);

  it('should stream a thread turn until it waits for input, survive a coordinator SIGKILL while it waits, and finish it once on resume', async () => {
    const agent = (await api<Agent>('POST', '/agents', { name: 'asker', kind: 'llm', config: { tools: ['request_input'] } })).body;
    const conversation = (await api<Thread>('POST', '/threads', { agent_id: agent.id, double_texting: 'reject' })).body;

    const streamed = await readEventStream(`${stack.api.url}/threads/${conversation.id}/runs?stream=true`, { method: 'POST', body: { input: 'book a table' }, timeoutMs: 30_000 });

    // The stream ended at the wait (the coordinator's events reach agent-api over Redis).
    expect(streamed).toMatchObject({ status: 200, stopped: false });
    const runId = String(streamed.headers['x-run-id']);
    const before = streamed.events.map((event) => JSON.parse(event.data) as RunEventV1);
    expect(before.at(-1)).toMatchObject({ type: 'run.waiting_input', run_id: runId });
    expect(await thread(conversation.id)).toMatchObject({ status: 'waiting_input', turns: 0 });
    expect((await api('POST', `/threads/${conversation.id}/runs`, { input: 'hello?' })).status).toBe(409);

    coordinator.child.kill('SIGKILL');
    expect(await coordinator.exited).toEqual({ code: null, signal: 'SIGKILL' });
    coordinator = await stack.launch('mesh-coordinator');
    expect(await run(runId)).toMatchObject({ status: 'waiting_input' });

    expect((await api<Run>('POST', `/runs/${runId}/resume`, { inputs: { input_1: 'Lyon' } })).status).toBe(200);
    const rest = await readEventStream(`${stack.api.url}/runs/${runId}/events`, { headers: { 'last-event-id': String(streamed.events.at(-1)?.id) }, timeoutMs: 30_000 });

    const after = rest.events.map((event) => JSON.parse(event.data) as RunEventV1);
    expect(after[0]).toMatchObject({ type: 'run.resumed' });
    expect(after.at(-1)).toMatchObject({ type: 'run.completed', data: { output: 'Booked in Lyon.' } });
    const whole = [...before, ...after];
    expect(whole.map((event) => event.seq)).toEqual(whole.map((_event, index) => index + 1));
    // The call that asked was journaled before the wait: the new coordinator replayed it, it did not ask again.
    expect(callsFor('book a table').map((request) => roles(request).at(-1))).toEqual(['user', 'tool']);
    expect(await idle(conversation.id)).toMatchObject({ turns: 1, message_count: 4 });
    const checkpoints = (await api<ThreadHistoryPage>('GET', `/threads/${conversation.id}/history`)).body.items;
    expect(checkpoints.map((checkpoint) => checkpoint.run_id)).toEqual([runId]);
  }, 120_000);
});
