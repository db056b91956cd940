import type { Agent, ApiErrorBody, Run, RunEventV1, Thread, ThreadHistoryPage } from '@skreaver/contracts';
import { lastUserMessage, readEventStream, startModelStandIn, waitFor } from '@skreaver/testing';
import type { ModelStandIn, ReceivedSse, StandInRequest } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

// Every model call reports this much; a run's usage is a multiple of it (one per model call made, none for a replay).
const USAGE = { prompt_tokens: 10, completion_tokens: 5 };
const answerFor = (city: string) => `Booked a table in ${city}. The restaurant confirms it by mail within the hour, and keeps it for twenty minutes.`;

const parsed = (events: ReceivedSse[]) => events.map((event) => JSON.parse(event.data) as RunEventV1);
const deltaText = (events: RunEventV1[]) => events.flatMap((event) => (event.type === 'message.delta' ? [event.data.text] : [])).join('');
const roles = (request: StandInRequest | undefined) => (request?.messages ?? []).filter((message) => message.role !== 'system').map((message) => message.role);

/** Every seq once, from 1 to the last, in order, and the deltas numbered 0, 1, 2…: no gap, no duplicate. */
function expectWholeLog(events: RunEventV1[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));
  const deltas = events.flatMap((event) => (event.type === 'message.delta' ? [event.data.index] : []));
  expect(deltas).toEqual(deltas.map((_index, position) => position));
}

/** Whether `later` started once `earlier` had finished (ISO timestamps compare as text). */
const startedAfter = (later: Run, earlier: Run) => !!later.started_at && !!earlier.finished_at && later.started_at >= earlier.finished_at;

// Where threads, human input, durable steps and streamed tokens meet, in agent-api (direct mode: it runs the turns
// itself, against real Redis and SQLite) with an `llm` agent on the local model stand-in. A turn that starts with
// "book" makes the model call `request_input`; the answer goes back to the model, which streams its reply.
describe('thread runs that wait for input, stream and resume', () => {
  let api: BootedAgentApi;
  let model: ModelStandIn;
  let agent: Agent;

  beforeAll(async () => {
    model = await startModelStandIn({
      chunkChars: 7,
      script: (request) => {
        const last = request.messages.at(-1);
        if (last?.role === 'tool') return { content: answerFor(String(JSON.parse(String(last.content)))), usage: USAGE };
        const input = lastUserMessage(request);
        if (input.startsWith('book')) {
          return { content: null, tool_calls: [{ id: `call_${request.n}`, name: 'request_input', arguments: { prompt: 'Which city?', schema: { type: 'string' } } }], usage: USAGE };
        }
        return { content: `heard "${input}" after ${roles(request).length - 1} earlier messages`, usage: USAGE };
      },
    });
    api = await bootAgentApi('sqlite', { SKREAVER_MESH_ENABLED: 'false', SKREAVER_LLM_BASE_URL: model.baseUrl, SKREAVER_LLM_MODEL: 'tiny', RUN_INPUT_SWEEP_INTERVAL_MS: '100' });
    // Parallel: only each thread keeps its turns apart, the agent does not.
    const created = await api.request<Agent>('POST', '/agents', {
      token: api.adminToken,
      body: { name: 'booker', kind: 'llm', config: { tools: ['request_input'] }, concurrency: { policy: 'parallel', max_concurrency: 4 } },
    });
    expect(created.status).toBe(201);
    agent = created.body;
  });

  afterAll(async () => {
    await api?.close();
    await model?.close();
  });

  async function createThread(doubleTexting: 'reject' | 'enqueue' | 'interrupt'): Promise<Thread> {
    const response = await api.request<Thread>('POST', '/threads', { token: api.adminToken, body: { agent_id: agent.id, double_texting: doubleTexting } });
    expect(response.status).toBe(201);
    return response.body;
  }

  const send = (threadId: string, input: string, wait?: number) =>
    api.request<Run & ApiErrorBody>('POST', `/threads/${threadId}/runs${wait === undefined ? '' : `?wait=${wait}`}`, { token: api.adminToken, body: { input } });
  const stream = (threadId: string, input: string) =>
    readEventStream(`${api.url}/threads/${threadId}/runs?stream=true`, { method: 'POST', headers: api.adminHeaders, body: { input }, timeoutMs: 20_000 });
  const thread = async (id: string) => (await api.request<Thread>('GET', `/threads/${id}`, { token: api.adminToken })).body;
  const run = async (id: string) => (await api.request<Run>('GET', `/runs/${id}`, { token: api.adminToken })).body;
  const history = async (id: string) => (await api.request<ThreadHistoryPage>('GET', `/threads/${id}/history`, { token: api.adminToken })).body.items;
  const resume = (id: string, city: string) => api.request<Run & ApiErrorBody>('POST', `/runs/${id}/resume`, { token: api.adminToken, body: { inputs: { input_1: city } } });
  const until = (id: string, status: Run['status']) =>
    waitFor(async () => { const current = await run(id); return current.status === status && current; }, { what: `run ${id} to be ${status}`, timeoutMs: 20_000 });
  const idle = (id: string) =>
    waitFor(async () => { const current = await thread(id); return current.status === 'idle' && current; }, { what: `thread ${id} to be idle`, timeoutMs: 20_000 });
  /** The model calls of the run whose input was `input`. */
  const callsFor = (input: string) => model.requests.filter((request) => lastUserMessage(request) === input);

  it('should end the ?stream=true answer at run.waiting_input, refuse a second input under reject, and finish the turn once on resume', async () => {
    const conversation = await createThread('reject');
    const input = 'book a table (reject)';

    const first = await stream(conversation.id, input);

    // The server ended the stream (the reader did not stop it) once the run waited.
    expect(first).toMatchObject({ status: 200, stopped: false });
    const runId = String(first.headers['x-run-id']);
    const before = parsed(first.events);
    expect(before.map((event) => event.type)).toEqual(expect.arrayContaining(['run.queued', 'run.started']));
    expect(before.at(-1)).toMatchObject({ type: 'run.waiting_input', run_id: runId, data: { pending_inputs: [{ id: 'input_1', kind: 'input', prompt: 'Which city?' }] } });
    // The thread says so as soon as the event is out.
    expect(await thread(conversation.id)).toMatchObject({ status: 'waiting_input', turns: 0 });
    expect(await run(runId)).toMatchObject({ status: 'waiting_input', thread_id: conversation.id, usage: { ...USAGE, total_tokens: 15 } });

    const refused = await send(conversation.id, 'hello?');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('thread_busy');

    const resumed = await resume(runId, 'Paris');
    expect(resumed.status).toBe(200);
    // Nobody is waited for any more: the thread is busy (its run queued or running), or idle once the turn is done.
    expect(['busy', 'idle']).toContain((await thread(conversation.id)).status);
    const rest = await readEventStream(`${api.url}/runs/${runId}/events`, { headers: { ...api.adminHeaders, 'last-event-id': String(first.events.at(-1)?.id) }, timeoutMs: 20_000 });

    const after = parsed(rest.events);
    expect(after[0]).toMatchObject({ type: 'run.resumed', data: { input_ids: ['input_1'] } });
    expect(after.at(-1)).toMatchObject({ type: 'run.completed', data: { output: answerFor('Paris') } });
    const whole = [...before, ...after];
    expectWholeLog(whole);
    expect(deltaText(whole)).toBe(answerFor('Paris'));

    const done = await idle(conversation.id);
    expect(done).toMatchObject({ turns: 1, message_count: 4 });
    const checkpoints = await history(conversation.id);
    expect(checkpoints.map((checkpoint) => [checkpoint.run_id, checkpoint.step])).toEqual([[runId, 1]]);
    expect(checkpoints[0]?.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(checkpoints[0]?.messages.at(-1)).toMatchObject({ role: 'assistant', content: answerFor('Paris') });
    // The model call that asked was journaled: the resumed run replayed it instead of asking the model again.
    expect(callsFor(input).map((request) => roles(request).at(-1))).toEqual(['user', 'tool']);
    // Tokens of both model calls, the replayed one not counted twice.
    expect(await run(runId)).toMatchObject({ status: 'completed', attempts: 1, usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 } });

    // The next turn streams as well, and the model gets the whole first turn before the new input.
    const second = await stream(conversation.id, 'thanks');
    const secondEvents = parsed(second.events);
    const expected = 'heard "thanks" after 4 earlier messages';
    expect(secondEvents.at(-1)).toMatchObject({ type: 'run.completed', data: { output: expected } });
    expect(deltaText(secondEvents)).toBe(expected);
    expectWholeLog(secondEvents);
    expect(roles(callsFor('thanks')[0])).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
    expect(callsFor('thanks')).toHaveLength(1);
    expect(await run(String(second.headers['x-run-id']))).toMatchObject({ usage: { ...USAGE, total_tokens: 15 } });
    expect(await idle(conversation.id)).toMatchObject({ turns: 2 });
  }, 30_000);

  it('should hold a second input under enqueue until the waiting run is resumed and done, then run it with the first turn', async () => {
    const conversation = await createThread('enqueue');
    const input = 'book a table (enqueue)';
    const waiting = await send(conversation.id, input);
    await until(waiting.body.id, 'waiting_input');
    expect(await thread(conversation.id)).toMatchObject({ status: 'waiting_input' });

    const queued = await send(conversation.id, 'and a taxi');
    expect(queued.status).toBe(202);
    // Still its turn: the waiting run keeps the thread, so the second is queued behind it.
    expect(await run(queued.body.id)).toMatchObject({ status: 'queued' });
    expect(await thread(conversation.id)).toMatchObject({ status: 'waiting_input' });

    expect((await resume(waiting.body.id, 'Rome')).status).toBe(200);
    const first = await until(waiting.body.id, 'completed');
    const second = await until(queued.body.id, 'completed');

    expect(first.output).toBe(answerFor('Rome'));
    expect(startedAfter(second, first)).toBe(true);
    expect(second.output).toBe('heard "and a taxi" after 4 earlier messages');
    expect((await history(conversation.id)).map((checkpoint) => checkpoint.run_id)).toEqual([queued.body.id, waiting.body.id]);
    expect(await idle(conversation.id)).toMatchObject({ turns: 2 });
    expect(callsFor(input)).toHaveLength(2);
  }, 30_000);

  it('should cancel the waiting run for a second input under interrupt, free its turn and record only the second', async () => {
    const conversation = await createThread('interrupt');
    const waiting = await send(conversation.id, 'book a table (interrupt)');
    await until(waiting.body.id, 'waiting_input');

    const next = await send(conversation.id, 'never mind', 10);

    expect(next.body).toMatchObject({ status: 'completed', output: 'heard "never mind" after 0 earlier messages' });
    expect(await run(waiting.body.id)).toMatchObject({ status: 'cancelled', pending_inputs: [] });
    expect((await resume(waiting.body.id, 'Oslo')).status).toBe(409);
    expect((await history(conversation.id)).map((checkpoint) => checkpoint.run_id)).toEqual([next.body.id]);
    expect(await idle(conversation.id)).toMatchObject({ turns: 1 });
  }, 30_000);

  it('should wait for a tool approval in a thread turn, under enqueue: an approved turn is recorded, a refused one fails the thread\'s turn', async () => {
    const approver = (
      await api.request<Agent>('POST', '/agents', {
        token: api.adminToken,
        body: { name: 'approver', kind: 'tool', config: { steps: [{ tool: 'math', input: { expression: '6*7' } }], approval: { tools: ['math'] } } },
      })
    ).body;
    const created = await api.request<Thread>('POST', '/threads', { token: api.adminToken, body: { agent_id: approver.id, double_texting: 'enqueue' } });
    const conversation = created.body;
    const first = await send(conversation.id, 'compute');
    const waiting = await until(first.body.id, 'waiting_input');
    expect(waiting.pending_inputs).toEqual([expect.objectContaining({ id: 'input_1', kind: 'approval', tool: 'math' })]);
    expect(await thread(conversation.id)).toMatchObject({ status: 'waiting_input' });
    const second = await send(conversation.id, 'again');
    expect(await run(second.body.id)).toMatchObject({ status: 'queued' });

    const approved = await api.request<Run>('POST', `/runs/${first.body.id}/resume`, { token: api.adminToken, body: { approve: true } });
    expect(approved.status).toBe(200);
    const done = await until(first.body.id, 'completed');
    // The second turn asks for its own approval once the first has ended: the thread waits again, for it.
    await until(second.body.id, 'waiting_input');
    expect(await thread(conversation.id)).toMatchObject({ status: 'waiting_input', turns: 1 });
    expect((await api.request<Run>('POST', `/runs/${second.body.id}/resume`, { token: api.adminToken, body: { approve: false, reason: 'once is enough' } })).status).toBe(200);
    // A `tool` agent fails on a refused step: the thread shows the error and records no turn for it.
    const refused = await until(second.body.id, 'failed');

    expect(done.output).toEqual(expect.objectContaining({ value: 42 }));
    expect(refused.error).toMatchObject({ message: expect.stringContaining('once is enough') });
    expect((await history(conversation.id)).map((checkpoint) => checkpoint.run_id)).toEqual([first.body.id]);
    await waitFor(async () => (await thread(conversation.id)).status === 'error', { what: 'the thread to show the error' });
    expect(await thread(conversation.id)).toMatchObject({ turns: 1, message_count: 2 });
  }, 30_000);

  it('should fail a thread turn whose wait expires (input_timeout): the thread shows the error and takes the next input', async () => {
    const expiring = (
      await api.request<Agent>('POST', '/agents', {
        token: api.adminToken,
        body: { name: 'expiring', kind: 'tool', config: { steps: [{ tool: 'math', input: { expression: '1+1' } }], approval: { tools: ['math'], timeout_seconds: 1 } } },
      })
    ).body;
    const conversation = (await api.request<Thread>('POST', '/threads', { token: api.adminToken, body: { agent_id: expiring.id, double_texting: 'reject' } })).body;
    const waiting = await send(conversation.id, 'compute');
    await until(waiting.body.id, 'waiting_input');

    const expired = await until(waiting.body.id, 'failed');

    expect(expired.error).toMatchObject({ code: 'input_timeout' });
    await waitFor(async () => (await thread(conversation.id)).status === 'error', { what: 'the thread to show the error' });
    expect(await thread(conversation.id)).toMatchObject({ turns: 0 });
    // Its turn was given back: under reject, the next input is taken, and waits for its own approval.
    const next = await send(conversation.id, 'compute again');
    expect(next.status).toBe(202);
    await until(next.body.id, 'waiting_input');
    await api.request('POST', `/runs/${next.body.id}/cancel`, { token: api.adminToken, body: {} });
    expect(await thread(conversation.id)).toMatchObject({ status: 'idle', turns: 0 });
  }, 30_000);

  it('should show a resumed thread run that waits for its agent\'s slot as busy, not waiting for a person', async () => {
    const single = (
      await api.request<Agent>('POST', '/agents', {
        token: api.adminToken,
        body: { name: 'single', kind: 'tool', config: { approval: { tools: ['math'] } }, concurrency: { policy: 'enqueue', max_concurrency: 1 } },
      })
    ).body;
    const conversation = (await api.request<Thread>('POST', '/threads', { token: api.adminToken, body: { agent_id: single.id } })).body;
    const turn = await api.request<Run>('POST', `/threads/${conversation.id}/runs`, { token: api.adminToken, body: { input: { steps: [{ tool: 'math', input: { expression: '6*7' } }] } } });
    await until(turn.body.id, 'waiting_input');
    // The waiting run gave its slot back; another run of the agent takes it and holds it.
    const blocker = await api.request<Run>('POST', `/agents/${single.id}/runs`, { token: api.adminToken, body: { input: { steps: [{ tool: 'sleep', input: { ms: 60_000 } }] } } });
    await until(blocker.body.id, 'running');

    expect((await api.request<Run>('POST', `/runs/${turn.body.id}/resume`, { token: api.adminToken, body: { approve: true } })).status).toBe(200);

    expect(await run(turn.body.id)).toMatchObject({ status: 'queued' });
    expect(await thread(conversation.id)).toMatchObject({ status: 'busy' });
    await api.request('POST', `/runs/${blocker.body.id}/cancel`, { token: api.adminToken, body: {} });
    await until(turn.body.id, 'completed');
    expect(await idle(conversation.id)).toMatchObject({ turns: 1 });
  }, 30_000);

  it('should free the thread when its waiting run is cancelled', async () => {
    const conversation = await createThread('reject');
    const waiting = await send(conversation.id, 'book a table (cancel)');
    await until(waiting.body.id, 'waiting_input');

    const cancelled = await api.request<Run>('POST', `/runs/${waiting.body.id}/cancel`, { token: api.adminToken, body: {} });

    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    // The canceller frees the thread before it answers: no executor would ever touch it again.
    expect(await thread(conversation.id)).toMatchObject({ status: 'idle', turns: 0 });
    expect((await send(conversation.id, 'still there?', 10)).body).toMatchObject({ status: 'completed' });
  }, 30_000);
});
