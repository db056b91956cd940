import type { Agent, AgentList, AgentStatusReport, ApiErrorBody, BatchResponse, ObserveResponse, Run, RunEventV1 } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';

import { call } from '../support/api-client';
import { readEventStream } from '../support/sse-client';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

// Concurrency policies, waiting, observe, batch, idempotency, cancellation and SSE, against the built services.
// Runs take time through the echo agent's `delay_ms`.
describe.each(['sqlite', 'postgres'] as const)('run control on %s', (database) => {
  let stack: Stack;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call<T>(stack.api.url, method, path, body, { headers });

  beforeAll(async () => {
    stack = await startStack({ database });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  async function agent(concurrency: Agent['concurrency'] | undefined, delayMs: number): Promise<Agent> {
    const created = await api<Agent>('POST', '/agents', { name: `delay-${delayMs}`, kind: 'echo', config: { delay_ms: delayMs }, ...(concurrency ? { concurrency } : {}) });
    expect(created.status).toBe(201);
    return created.body;
  }

  const submit = (agentId: string, input: unknown) => api<Run>('POST', `/agents/${agentId}/runs`, { input });
  const run = async (id: string) => (await api<Run>('GET', `/runs/${id}`)).body;
  const finished = (id: string, timeoutMs = 15_000) =>
    waitFor(async () => {
      const current = await run(id);
      return ['completed', 'failed', 'cancelled'].includes(current.status) ? current : undefined;
    }, { timeoutMs, what: `run ${id} to finish` });
  const eventTypes = async (id: string) => (await api<{ items: RunEventV1[] }>('GET', `/runs/${id}/events`)).body.items.map((e) => e.type);

  it('should run an enqueue agent one run at a time, in arrival order', async () => {
    const target = await agent(undefined, 250);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await submit(target.id, n)).body.id);
    const status = (await api<AgentStatusReport>('GET', `/agents/${target.id}/status`)).body;
    expect(status).toMatchObject({ agent_id: target.id, active_runs: 1, queue_depth: 2, concurrency: { policy: 'enqueue', max_concurrency: 1 } });
    const runs = [];
    for (const id of ids) runs.push(await finished(id));
    expect(runs.map((r) => r.output)).toEqual([1, 2, 3]);
    for (let i = 1; i < runs.length; i++) {
      // ISO timestamps compare as text: each run started only after the one before it finished.
      expect(String(runs[i]?.started_at) >= String(runs[i - 1]?.finished_at)).toBe(true);
    }
  });

  it('should refuse a run with 409 agent_busy while a reject agent works, and accept one after', async () => {
    const target = await agent({ policy: 'reject', max_concurrency: 1 }, 400);
    const first = await submit(target.id, 'a');
    expect(first.status).toBe(202);
    const busy = await call<ApiErrorBody>(stack.api.url, 'POST', `/agents/${target.id}/runs`, { input: 'b' });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toBe('agent_busy');
    await finished(first.body.id);
    // The run is stored as completed a moment before its coordinator frees the agent: wait for the agent.
    await waitFor(async () => (await api<AgentStatusReport>('GET', `/agents/${target.id}/status`)).body.active_runs === 0, { what: 'the agent to be free' });
    expect((await submit(target.id, 'c')).status).toBe(202);
    // The refused run left nothing behind.
    const runs = (await api<{ items: Run[] }>('GET', `/agents/${target.id}/runs`)).body.items;
    expect(runs.map((r) => r.input).sort()).toEqual(['a', 'c']);
  });

  it('should run at most max_concurrency runs at once for a parallel agent', async () => {
    const target = await agent({ policy: 'parallel', max_concurrency: 2 }, 400);
    const ids = await Promise.all([1, 2, 3, 4].map(async (n) => (await submit(target.id, n)).body.id));
    const runs = await Promise.all(ids.map((id) => finished(id)));
    const spans = runs.map((r) => [Date.parse(r.started_at ?? ''), Date.parse(r.finished_at ?? '')] as const);
    for (const [start] of spans) {
      const overlapping = spans.filter(([s, e]) => s <= start && start < e).length;
      expect(overlapping).toBeLessThanOrEqual(2);
    }
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
  });

  it('should cancel the running run of an interrupt agent and start the new one', async () => {
    const target = await agent({ policy: 'interrupt', max_concurrency: 1 }, 3_000);
    const old = (await submit(target.id, 'old')).body;
    await waitFor(async () => (await run(old.id)).status === 'running', { what: 'the old run to start' });
    const fresh = (await submit(target.id, 'new')).body;
    const cancelled = await finished(old.id, 5_000);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error?.message).toContain(fresh.id);
    // The coordinator stores the status before it appends the event, so the event may trail it by a moment.
    const logged = await waitFor(async () => {
      const types = await eventTypes(old.id);
      return types.includes('run.cancelled') ? types : undefined;
    }, { what: 'run.cancelled in the log' });
    expect(logged).toEqual(['run.queued', 'run.started', 'run.cancelled']);
    await waitFor(async () => (await run(fresh.id)).status === 'running', { what: 'the new run to start' });
    await api('POST', `/runs/${fresh.id}/cancel`);
  });

  it('should cancel a running run within a second and a queued one at once', async () => {
    const target = await agent(undefined, 10_000);
    const running = (await submit(target.id, 'long')).body;
    const queued = (await submit(target.id, 'waiting')).body;
    await waitFor(async () => (await run(running.id)).status === 'running', { what: 'the run to start' });

    const cancelQueued = await api<Run>('POST', `/runs/${queued.id}/cancel`, { reason: 'not needed' });
    expect(cancelQueued.status).toBe(200);
    expect(cancelQueued.body).toMatchObject({ status: 'cancelled', error: { code: 'cancelled', message: 'not needed' } });
    expect(await eventTypes(queued.id)).toEqual(['run.queued', 'run.cancelled']);

    const started = Date.now();
    const cancelRunning = await api<Run>('POST', `/runs/${running.id}/cancel`);
    const latency = Date.now() - started;
    expect(cancelRunning.status).toBe(200);
    expect(cancelRunning.body.status).toBe('cancelled');
    expect(latency).toBeLessThan(2_000);
    expect(await eventTypes(running.id)).toEqual(['run.queued', 'run.started', 'run.cancelled']);

    const again = await api<ApiErrorBody>('POST', `/runs/${running.id}/cancel`);
    expect(again.status).toBe(409);
  });

  it('should answer ?wait with 200 and the finished run, or 202 when it is still running', async () => {
    const quick = await agent(undefined, 50);
    const done = await api<Run>('POST', `/agents/${quick.id}/runs?wait=5`, { input: { q: 1 } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', output: { q: 1 } });

    const slow = await agent(undefined, 2_000);
    const pending = await api<Run>('POST', `/agents/${slow.id}/runs?wait=0.2`, { input: 1 });
    expect(pending.status).toBe(202);
    expect(['queued', 'running']).toContain(pending.body.status);
    await api('POST', `/runs/${pending.body.id}/cancel`);
  });

  it('should observe synchronously, time out with 504, and batch in input order', async () => {
    const quick = await agent(undefined, 20);
    const observed = await api<ObserveResponse>('POST', `/agents/${quick.id}/observe`, { input: 'ping' });
    expect(observed.status).toBe(200);
    expect(observed.body).toMatchObject({ agent_id: quick.id, response: 'ping', run_id: expect.any(String), timestamp: expect.any(String) });

    const slow = await agent(undefined, 3_000);
    const timedOut = await api<ApiErrorBody>('POST', `/agents/${slow.id}/observe`, { input: 1, timeout_seconds: 0.2 });
    expect(timedOut.status).toBe(504);
    expect(timedOut.body).toMatchObject({ error: 'run_timeout', details: { run_id: expect.any(String) } });

    const batch = await api<BatchResponse>('POST', `/agents/${quick.id}/batch`, { inputs: ['a', { b: 2 }, null] });
    expect(batch.status).toBe(200);
    expect(batch.body.items.map((i) => [i.status, i.output])).toEqual([['completed', 'a'], ['completed', { b: 2 }], ['completed', null]]);

    const tooMany = await api<ApiErrorBody>('POST', `/agents/${quick.id}/batch`, { inputs: Array.from({ length: 101 }, () => 1) });
    expect(tooMany.status).toBe(400);
  });

  it('should replay a retried request with the same Idempotency-Key and refuse the key with another body', async () => {
    const target = await agent(undefined, 0);
    const key = { 'idempotency-key': `order-${Date.now()}` };
    const first = await api<Run>('POST', `/agents/${target.id}/runs`, { input: { order: 1 } }, key);
    const retry = await api<Run>('POST', `/agents/${target.id}/runs`, { input: { order: 1 } }, key);
    expect(first.status).toBe(202);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    const other = await api<ApiErrorBody>('POST', `/agents/${target.id}/runs`, { input: { order: 2 } }, key);
    expect(other.status).toBe(422);
    expect(other.body.error).toBe('idempotency_key_reused');
    expect((await api<{ items: Run[] }>('GET', `/agents/${target.id}/runs`)).body.items).toHaveLength(1);
  });

  it('should stream a run as server-sent events, resuming after Last-Event-ID without gaps or duplicates', async () => {
    const target = await agent(undefined, 300);
    const streamed = await readEventStream(`${stack.api.url}/agents/${target.id}/observe/stream`, { method: 'POST', body: { input: 'sse' } });
    expect(streamed.status).toBe(200);
    expect(streamed.contentType).toContain('text/event-stream');
    expect(streamed.events.map((e) => e.event)).toEqual(['run.queued', 'run.started', 'run.completed']);
    const runId = (JSON.parse(streamed.events[0]?.data ?? '{}') as RunEventV1).run_id;
    expect(streamed.events.map((e) => e.id)).toEqual([`${runId}:1`, `${runId}:2`, `${runId}:3`]);

    const resumed = await readEventStream(`${stack.api.url}/runs/${runId}/events`, { headers: { 'last-event-id': `${runId}:1` } });
    expect(resumed.events.map((e) => e.event)).toEqual(['run.started', 'run.completed']);

    // Following a live run: subscribe first, then it runs to the end.
    const live = (await submit(target.id, 'live')).body;
    const followed = await readEventStream(`${stack.api.url}/runs/${live.id}/events`);
    expect(followed.events.map((e) => e.event)).toEqual(['run.queued', 'run.started', 'run.completed']);
  });

  it('should update, filter, page, report and delete agents, cancelling their runs', async () => {
    const target = await agent(undefined, 10_000);
    const renamed = await api<Agent>('PATCH', `/agents/${target.id}`, { name: 'renamed', concurrency: { policy: 'parallel', max_concurrency: 3 } });
    expect(renamed.body).toMatchObject({ name: 'renamed', concurrency: { policy: 'parallel', max_concurrency: 3 } });
    // A partial policy is merged with the current one.
    const widened = await api<Agent>('PATCH', `/agents/${target.id}`, { concurrency: { max_concurrency: 5 } });
    expect(widened.body.concurrency).toEqual({ policy: 'parallel', max_concurrency: 5 });
    expect((await api<ApiErrorBody>('PATCH', `/agents/${target.id}`, { concurrency: { policy: 'reject' } })).status).toBe(400);
    expect((await api<ApiErrorBody>('PATCH', `/agents/${target.id}`, { config: { delay_ms: -1 } })).status).toBe(400);
    expect((await api<ApiErrorBody>('PATCH', `/agents/${target.id}`, {})).status).toBe(400);

    const page1 = await api<AgentList>('GET', '/agents?limit=2');
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await api<AgentList>('GET', `/agents?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body.items.map((a) => a.id)).not.toContain(page1.body.items[0]?.id);
    const byName = await api<AgentList>('GET', '/agents?name=renamed');
    expect(byName.body.items.map((a) => a.id)).toEqual([target.id]);

    const long = (await submit(target.id, 'long')).body;
    await waitFor(async () => (await run(long.id)).status === 'running', { what: 'the run to start' });
    expect((await api('DELETE', `/agents/${target.id}`)).status).toBe(204);
    expect((await api<ApiErrorBody>('GET', `/agents/${target.id}`)).status).toBe(404);
    expect((await api<ApiErrorBody>('GET', `/runs/${long.id}`)).status).toBe(404);
  });
});
