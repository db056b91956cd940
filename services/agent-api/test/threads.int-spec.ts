import type { Agent, ApiErrorBody, AuditList, Run, Thread, ThreadHistoryPage, ThreadList } from '@skreaver/contracts';
import { DATABASE_KINDS, waitFor } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

const MISSING = '00000000-0000-4000-8000-000000000000';
// Small enough that a few echo turns (two messages each) go over it.
const MAX_MESSAGES = 6;

/** A run of the `tool` agent that sleeps until it is cancelled (or `ms` pass). */
const sleeping = (ms: number) => ({ steps: [{ tool: 'sleep', input: { ms } }] });

/** Whether `later` started once `earlier` had finished (ISO timestamps compare as text). */
const startedAfter = (later: Run | undefined, earlier: Run | undefined) =>
  !!later?.started_at && !!earlier?.finished_at && later.started_at >= earlier.finished_at;

describe.each(DATABASE_KINDS)('threads on %s (direct mode: agent-api runs them)', (kind) => {
  let api: BootedAgentApi;
  let echo: Agent;
  let sleeper: Agent;

  beforeAll(async () => {
    api = await bootAgentApi(kind, { SKREAVER_MESH_ENABLED: 'false', RUN_MAX_ATTEMPTS: '1', THREAD_MAX_MESSAGES: String(MAX_MESSAGES) });
    echo = await createAgent({ name: 'echo', kind: 'echo', config: {} });
    // Parallel: the agent itself would run several at once, so only the thread keeps its turns apart.
    sleeper = await createAgent({ name: 'sleeper', kind: 'tool', config: {}, concurrency: { policy: 'parallel', max_concurrency: 4 } });
  });

  afterAll(async () => {
    await api?.close();
  }, 30_000);

  async function createAgent(body: Record<string, unknown>): Promise<Agent> {
    const response = await api.request<Agent>('POST', '/agents', { token: api.adminToken, body });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function createThread(body: Record<string, unknown>, token = api.adminToken): Promise<Thread> {
    const response = await api.request<Thread>('POST', '/threads', { token, body });
    expect(response.status).toBe(201);
    return response.body;
  }

  function send(threadId: string, body: Record<string, unknown>, options: { wait?: number; headers?: Record<string, string> } = {}) {
    const query = options.wait === undefined ? '' : `?wait=${options.wait}`;
    return api.request<Run & ApiErrorBody>('POST', `/threads/${threadId}/runs${query}`, { token: api.adminToken, body, headers: options.headers });
  }

  async function thread(id: string): Promise<Thread> {
    return (await api.request<Thread>('GET', `/threads/${id}`, { token: api.adminToken })).body;
  }

  async function run(id: string): Promise<Run> {
    return (await api.request<Run>('GET', `/runs/${id}`, { token: api.adminToken })).body;
  }

  async function history(id: string, query = ''): Promise<ThreadHistoryPage> {
    const response = await api.request<ThreadHistoryPage>('GET', `/threads/${id}/history${query}`, { token: api.adminToken });
    expect(response.status).toBe(200);
    return response.body;
  }

  it('should create, read, list (filtered, paged), update and delete threads; the runs of a deleted thread stay readable', async () => {
    const created = await createThread({ agent_id: echo.id, metadata: { user: 'ada' } });
    expect(created).toMatchObject({ agent_id: echo.id, status: 'idle', metadata: { user: 'ada' }, double_texting: null, state: null, turns: 0, message_count: 0, forked_from: null });
    expect(await thread(created.id)).toEqual(created);

    const other = await createThread({ agent_id: sleeper.id, double_texting: 'reject' });
    const third = await createThread({ agent_id: echo.id });
    const byAgent = (await api.request<ThreadList>('GET', `/threads?agent_id=${echo.id}`, { token: api.adminToken })).body;
    expect(byAgent.items.map((item) => item.id)).toEqual(expect.arrayContaining([created.id, third.id]));
    expect(byAgent.items.map((item) => item.id)).not.toContain(other.id);

    const first = (await api.request<ThreadList>('GET', '/threads?limit=1', { token: api.adminToken })).body;
    expect(first.items).toHaveLength(1);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = (await api.request<ThreadList>('GET', `/threads?limit=1&cursor=${first.next_cursor}`, { token: api.adminToken })).body;
    expect(second.items[0]?.id).not.toBe(first.items[0]?.id);

    const patched = await api.request<Thread>('PATCH', `/threads/${created.id}`, { token: api.adminToken, body: { metadata: { user: 'grace' }, double_texting: 'enqueue' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ metadata: { user: 'grace' }, double_texting: 'enqueue' });
    expect((await api.request('PATCH', `/threads/${created.id}`, { token: api.adminToken, body: {} })).status).toBe(400);

    const turn = await send(created.id, { input: 'hello' }, { wait: 10 });
    expect(turn.status).toBe(200);
    expect(turn.body).toMatchObject({ status: 'completed', thread_id: created.id, output: 'hello' });

    expect((await api.request('DELETE', `/threads/${created.id}`, { token: api.adminToken })).status).toBe(204);
    expect((await api.request('GET', `/threads/${created.id}`, { token: api.adminToken })).status).toBe(404);
    expect((await api.request('GET', `/threads/${created.id}/history`, { token: api.adminToken })).status).toBe(404);
    expect(await run(turn.body.id)).toMatchObject({ id: turn.body.id, status: 'completed', thread_id: created.id });
    expect((await api.request('DELETE', `/threads/${created.id}`, { token: api.adminToken })).status).toBe(404);
    const audit = (await api.request<AuditList>('GET', '/audit?limit=500', { token: api.adminToken })).body.items;
    expect(audit.filter((entry) => entry.action === 'thread.deleted' && entry.target === created.id)).toHaveLength(1);
  });

  it('should answer 404 for an unknown agent or thread, and for another tenant\'s thread on every route', async () => {
    expect((await api.request('POST', '/threads', { token: api.adminToken, body: { agent_id: MISSING } })).status).toBe(404);
    expect((await api.request('GET', `/threads/${MISSING}`, { token: api.adminToken })).status).toBe(404);

    const mine = await createThread({ agent_id: echo.id });
    const foreignKey = await api.createKey('admin', { tenant_id: 'threads-other' });
    const foreign = await api.tokenFor(foreignKey.key);
    // Their agent is invisible to us as well.
    expect((await api.request('POST', '/threads', { token: foreign, body: { agent_id: echo.id } })).status).toBe(404);
    const calls: [string, string, unknown][] = [
      ['GET', `/threads/${mine.id}`, undefined],
      ['PATCH', `/threads/${mine.id}`, { metadata: {} }],
      ['POST', `/threads/${mine.id}/runs`, { input: 'x' }],
      ['GET', `/threads/${mine.id}/history`, undefined],
      ['DELETE', `/threads/${mine.id}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const response = await api.request<ApiErrorBody>(method, path, { token: foreign, body });
      expect({ method, path, status: response.status, error: response.body.error }).toEqual({ method, path, status: 404, error: 'not_found' });
    }
    expect((await api.request<ThreadList>('GET', '/threads', { token: foreign })).body.items).toEqual([]);
    expect(await thread(mine.id)).toMatchObject({ id: mine.id, turns: 0 });
  });

  it('should let viewers read threads and only operators and admins change them', async () => {
    const mine = await createThread({ agent_id: echo.id });
    const viewer = await api.tokenFor((await api.createKey('viewer')).key);
    const operator = await api.tokenFor((await api.createKey('operator')).key);
    expect((await api.request('GET', `/threads/${mine.id}`, { token: viewer })).status).toBe(200);
    expect((await api.request('GET', `/threads/${mine.id}/history`, { token: viewer })).status).toBe(200);
    expect((await api.request('POST', '/threads', { token: viewer, body: { agent_id: echo.id } })).status).toBe(403);
    expect((await api.request('POST', `/threads/${mine.id}/runs`, { token: viewer, body: { input: 'x' } })).status).toBe(403);
    expect((await api.request('DELETE', `/threads/${mine.id}`, { token: viewer })).status).toBe(403);
    expect((await api.request('POST', `/threads/${mine.id}/runs?wait=10`, { token: operator, body: { input: 'x' } })).status).toBe(200);
  });

  it('should keep the conversation: one checkpoint per completed run, history paged newest first, trimmed to THREAD_MAX_MESSAGES', async () => {
    const conversation = await createThread({ agent_id: echo.id });
    for (let turn = 1; turn <= 4; turn++) {
      const response = await send(conversation.id, { input: `message ${turn}` }, { wait: 10 });
      expect(response.body).toMatchObject({ status: 'completed', output: `message ${turn}` });
    }
    // Echo appends nothing itself: each turn is recorded as the input (user) and the output (assistant).
    await waitFor(async () => (await thread(conversation.id)).status === 'idle', { what: 'the thread to be idle' });
    expect(await thread(conversation.id)).toMatchObject({ turns: 4, message_count: MAX_MESSAGES });

    const newest = await history(conversation.id, '?limit=2');
    expect(newest.items.map((item) => item.step)).toEqual([4, 3]);
    expect(newest.next_before).toBe(3);
    // The oldest turn went: 8 messages over a limit of 6.
    expect(newest.items[0]?.messages).toEqual(
      [2, 3, 4].flatMap((turn) => [
        { role: 'user', content: `message ${turn}` },
        { role: 'assistant', content: `message ${turn}` },
      ]),
    );
    const older = await history(conversation.id, `?limit=2&before=${newest.next_before}`);
    expect(older.items.map((item) => item.step)).toEqual([2, 1]);
    expect(older.items[1]).toMatchObject({ thread_id: conversation.id, step: 1, state: null, messages: [{ role: 'user', content: 'message 1' }, { role: 'assistant', content: 'message 1' }] });
    expect(older.next_before).toBeNull();
  });

  it('should fork from a checkpoint into a new thread and leave the original untouched', async () => {
    const original = await createThread({ agent_id: echo.id, metadata: { topic: 'fork' } });
    await send(original.id, { input: 'one' }, { wait: 10 });
    await send(original.id, { input: 'two' }, { wait: 10 });
    const [, first] = (await history(original.id)).items;
    // The thread goes idle a moment after its run completes (the run's end is logged first).
    const before = await waitFor(async () => { const now = await thread(original.id); return now.status === 'idle' && now; }, { what: 'the thread to be idle' });

    const forked = await send(original.id, { input: 'two, differently', checkpoint_id: first?.id }, { wait: 10 });
    expect(forked.status).toBe(200);
    expect(forked.body).toMatchObject({ status: 'completed', output: 'two, differently' });
    const forkId = forked.body.thread_id;
    expect(forkId).not.toBe(original.id);
    expect(await thread(forkId ?? '')).toMatchObject({
      agent_id: echo.id,
      metadata: { topic: 'fork' },
      turns: 2,
      forked_from: { thread_id: original.id, checkpoint_id: first?.id },
    });
    expect((await history(forkId ?? '')).items[0]?.messages).toEqual([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'one' },
      { role: 'user', content: 'two, differently' },
      { role: 'assistant', content: 'two, differently' },
    ]);
    expect(await thread(original.id)).toEqual(before);
    expect((await history(original.id)).items).toHaveLength(2);

    expect((await send(original.id, { input: 'x', checkpoint_id: MISSING })).status).toBe(404);
  });

  it('should answer a repeated request with the same Idempotency-Key with the first run, for a turn and for a fork', async () => {
    const conversation = await createThread({ agent_id: echo.id });
    const headers = { 'idempotency-key': `turn-${conversation.id}` };
    const first = await send(conversation.id, { input: 'once' }, { wait: 10, headers });
    const again = await send(conversation.id, { input: 'once' }, { wait: 10, headers });
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect((await send(conversation.id, { input: 'other' }, { headers })).status).toBe(422);
    expect(await thread(conversation.id)).toMatchObject({ turns: 1 });

    const checkpoint = (await history(conversation.id)).items[0]?.id;
    const forkHeaders = { 'idempotency-key': `fork-${conversation.id}` };
    const fork = await send(conversation.id, { input: 'branch', checkpoint_id: checkpoint }, { wait: 10, headers: forkHeaders });
    const forkAgain = await send(conversation.id, { input: 'branch', checkpoint_id: checkpoint }, { wait: 10, headers: forkHeaders });
    expect(forkAgain.body).toMatchObject({ id: fork.body.id, thread_id: fork.body.thread_id });
    const threads = (await api.request<ThreadList>('GET', `/threads?agent_id=${echo.id}&limit=500`, { token: api.adminToken })).body.items;
    expect(threads.filter((item) => item.forked_from?.thread_id === conversation.id)).toHaveLength(1);
  });

  it('should refuse a second input while busy under `reject` (409 thread_busy), even though the agent could run both', async () => {
    const conversation = await createThread({ agent_id: sleeper.id, double_texting: 'reject' });
    const long = await send(conversation.id, { input: sleeping(60_000) });
    expect(long.status).toBe(202);
    expect(await thread(conversation.id)).toMatchObject({ status: 'busy' });

    const refused = await send(conversation.id, { input: sleeping(0) });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('thread_busy');

    // Another thread of the same agent is not held back by this one.
    const neighbour = await createThread({ agent_id: sleeper.id, double_texting: 'reject' });
    expect((await send(neighbour.id, { input: sleeping(0) }, { wait: 10 })).body).toMatchObject({ status: 'completed' });

    expect((await api.request('POST', `/runs/${long.body.id}/cancel`, { token: api.adminToken, body: {} })).status).toBeLessThan(300);
    await waitFor(async () => (await run(long.body.id)).status === 'cancelled', { what: 'the long run to be cancelled' });
    await waitFor(async () => (await thread(conversation.id)).status === 'idle', { what: 'the thread to be idle' });
    expect((await send(conversation.id, { input: sleeping(0) }, { wait: 10 })).body).toMatchObject({ status: 'completed' });
  });

  it('should run a second input after the first under `enqueue` (the agent\'s default), never both at once', async () => {
    const enqueueing = await createAgent({ name: 'enqueue', kind: 'tool', config: {} });
    const conversation = await createThread({ agent_id: enqueueing.id });
    const first = await send(conversation.id, { input: sleeping(1_000) });
    const second = await send(conversation.id, { input: sleeping(0) });
    expect(second.status).toBe(202);
    const done = await waitFor(async () => {
      const [a, b] = [await run(first.body.id), await run(second.body.id)];
      return a.status === 'completed' && b.status === 'completed' && [a, b];
    }, { what: 'both runs to complete' });
    expect(startedAfter(done[1], done[0])).toBe(true);
    await waitFor(async () => (await thread(conversation.id)).status === 'idle', { what: 'the thread to be idle' });
    expect(await thread(conversation.id)).toMatchObject({ turns: 2 });
  });

  it('should queue a thread\'s turns under `enqueue` on an agent that runs in parallel, in arrival order', async () => {
    const conversation = await createThread({ agent_id: sleeper.id, double_texting: 'enqueue' });
    const first = await send(conversation.id, { input: sleeping(800) });
    const second = await send(conversation.id, { input: sleeping(0) });
    const third = await send(conversation.id, { input: sleeping(0) });
    const runs = await waitFor(async () => {
      const all = [await run(first.body.id), await run(second.body.id), await run(third.body.id)];
      return all.every((one) => one.status === 'completed') && all;
    }, { what: 'three runs to complete' });
    const [a, b, c] = runs;
    expect(startedAfter(b, a) && startedAfter(c, b)).toBe(true);
    expect((await history(conversation.id)).items.map((item) => item.run_id)).toEqual([third.body.id, second.body.id, first.body.id]);
  });

  it('should cancel the open run for a second input under `interrupt`, and record only the second turn', async () => {
    const conversation = await createThread({ agent_id: sleeper.id, double_texting: 'interrupt' });
    const long = await send(conversation.id, { input: sleeping(60_000) });
    await waitFor(async () => (await run(long.body.id)).status === 'running', { what: 'the long run to start' });
    const next = await send(conversation.id, { input: sleeping(0) }, { wait: 10 });
    expect(next.body).toMatchObject({ status: 'completed' });
    expect(await run(long.body.id)).toMatchObject({ status: 'cancelled' });
    expect((await history(conversation.id)).items.map((item) => item.run_id)).toEqual([next.body.id]);
    await waitFor(async () => (await thread(conversation.id)).status === 'idle', { what: 'the thread to be idle' });
  });

  it('should mark the thread `error` after a failed run, and record no turn for it', async () => {
    const conversation = await createThread({ agent_id: sleeper.id });
    const failed = await send(conversation.id, { input: { steps: [{ tool: 'no_such_tool' }] } }, { wait: 10 });
    expect(failed.body).toMatchObject({ status: 'failed' });
    await waitFor(async () => (await thread(conversation.id)).status === 'error', { what: 'the thread to show the error' });
    expect(await thread(conversation.id)).toMatchObject({ turns: 0, message_count: 0 });
    expect((await send(conversation.id, { input: sleeping(0) }, { wait: 10 })).body).toMatchObject({ status: 'completed' });
    await waitFor(async () => (await thread(conversation.id)).status === 'idle', { what: 'the thread to be idle again' });
  });

  it('should delete an agent\'s threads with it', async () => {
    const doomed = await createAgent({ name: 'doomed', kind: 'echo', config: {} });
    const conversation = await createThread({ agent_id: doomed.id });
    expect((await api.request('DELETE', `/agents/${doomed.id}`, { token: api.adminToken })).status).toBe(204);
    expect((await api.request('GET', `/threads/${conversation.id}`, { token: api.adminToken })).status).toBe(404);
  });
});
