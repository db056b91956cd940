import type { Agent, ApiErrorBody, ObserveResponse, Run, RunEventV1 } from '@skreaver/contracts';
import { countingServer, waitFor } from '@skreaver/testing';
import type { CountingServer } from '@skreaver/testing';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

const WORKER_ID = 'agent-api-direct-1';

// The runbook's "fallback to direct HTTP": with SKREAVER_MESH_ENABLED=false and no coordinator at all, agent-api
// executes runs itself, under the same policies, events, cancellation and shutdown rules as a coordinator.
describe('direct mode (SKREAVER_MESH_ENABLED=false, no coordinator)', () => {
  let stack: Stack;
  let apiProcess: ServiceProcess;
  let server: CountingServer;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(apiProcess.url, method, path, body);

  beforeAll(async () => {
    server = await countingServer();
    stack = await startStack({
      coordinators: 0,
      env: {
        SKREAVER_MESH_ENABLED: 'false',
        WORKER_ID,
        RUN_WORKER_CONCURRENCY: '4',
        // A run whose process died is resumed within about twice this.
        RUN_DIRECT_LEASE_MS: '2000',
        // The counting server is on loopback.
        SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS: 'true',
      },
    });
    apiProcess = stack.api;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await server?.close();
  }, 30_000);

  async function agent(body: Record<string, unknown>): Promise<Agent> {
    const created = await api<Agent>('POST', '/agents', { name: 'direct', kind: 'echo', ...body });
    expect(created.status).toBe(201);
    return created.body;
  }

  const submit = async (agentId: string, input: unknown) => {
    const submitted = await api<Run>('POST', `/agents/${agentId}/runs`, { input });
    expect(submitted.status).toBe(202);
    return submitted.body;
  };
  const run = async (id: string) => (await api<Run>('GET', `/runs/${id}`)).body;
  const events = async (id: string) => (await api<{ items: RunEventV1[] }>('GET', `/runs/${id}/events?limit=1000`)).body.items;
  const finished = (id: string, timeoutMs = 15_000) =>
    waitFor(
      async () => {
        const current = await run(id);
        return ['completed', 'failed', 'cancelled'].includes(current.status) ? current : undefined;
      },
      { timeoutMs, what: `run ${id} to finish` },
    );
  /** The run's log once it holds its terminal event (the stored status may be a moment ahead of it). */
  const endedLog = (id: string) =>
    waitFor(
      async () => {
        const logged = await events(id);
        return logged.some((event) => ['run.completed', 'run.failed', 'run.cancelled'].includes(event.type)) ? logged : undefined;
      },
      { what: `run ${id}'s terminal event` },
    );

  it('should answer every mesh route with 503 mesh_disabled and report the mode in /ready', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/mesh/messages', { broadcast: true, kind: 'x' }],
      ['GET', '/mesh/presence'],
      ['GET', '/mesh/dead-letters'],
      ['POST', '/mesh/dead-letters/1-0/redrive'],
      ['DELETE', '/mesh/dead-letters/1-0'],
    ];
    for (const [method, path, body] of routes) {
      const response = await api<ApiErrorBody>(method, path, body);
      expect([method, path, response.status, response.body.error]).toEqual([method, path, 503, 'mesh_disabled']);
    }
    const ready = await api<{ checks: Record<string, Record<string, unknown>> }>('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks['mesh']).toMatchObject({ mode: 'direct' });
  });

  it('should execute a submitted run in agent-api itself and log it like a coordinator would', async () => {
    const echo = await agent({});

    const done = await finished((await submit(echo.id, { hello: 'direct' })).id);

    expect(done).toMatchObject({ status: 'completed', output: { hello: 'direct' }, attempts: 1 });
    const logged = await endedLog(done.id);
    expect(logged.map((event) => event.type)).toEqual(['run.queued', 'run.started', 'run.completed']);
    expect(logged[1]?.data).toMatchObject({ attempt: 1, worker: WORKER_ID });
  });

  it('should answer observe synchronously', async () => {
    const echo = await agent({});

    const observed = await api<ObserveResponse>('POST', `/agents/${echo.id}/observe`, { input: 'ping' });

    expect(observed.status).toBe(200);
    expect(observed.body).toMatchObject({ agent_id: echo.id, response: 'ping' });
    expect((await run(observed.body.run_id)).status).toBe('completed');
  });

  it('should run tool agents with their memory, and fail mesh tools with mesh_disabled', async () => {
    const tool = await agent({
      kind: 'tool',
      config: {
        steps: [
          { tool: 'memory_put', input: { key: 'city', value: '{{input.city}}' } },
          { tool: 'memory_get', input: { key: 'city' } },
          { tool: 'text', input: { op: 'upper', text: '{{steps.1.result.value}}' } },
        ],
      },
    });
    const mesh = await agent({ kind: 'tool', config: { steps: [{ tool: 'mesh_send', input: { to: tool.id, kind: 'fyi', payload: 1 } }] } });

    const remembered = await finished((await submit(tool.id, { city: 'Oslo' })).id);
    const refused = await finished((await submit(mesh.id, null)).id);

    expect(remembered).toMatchObject({ status: 'completed', output: { text: 'OSLO' } });
    expect((await api('GET', `/agents/${tool.id}/memory/city`)).body).toMatchObject({ value: 'Oslo' });
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'tool_failed' } });
    expect(refused.error?.message).toContain('mesh_disabled');
  });

  it('should keep an enqueue agent to one run at a time, running its runs in arrival order', async () => {
    const serial = await agent({ config: { delay_ms: 150 }, concurrency: { policy: 'enqueue', max_concurrency: 1 } });

    const submitted = [];
    for (const n of [1, 2, 3, 4]) submitted.push(await submit(serial.id, n));
    const done = await Promise.all(submitted.map((each) => finished(each.id)));

    expect(done.map((each) => [each.status, each.output])).toEqual([1, 2, 3, 4].map((n) => ['completed', n]));
    for (let i = 1; i < done.length; i++) {
      // One at a time: each started after the one before it had finished.
      expect(Date.parse(done[i]?.started_at ?? '')).toBeGreaterThanOrEqual(Date.parse(done[i - 1]?.finished_at ?? ''));
    }
  });

  it('should cancel a running run within milliseconds', async () => {
    const sleeper = await agent({ kind: 'tool', config: { steps: [{ tool: 'sleep', input: { ms: 30_000 } }] } });
    const running = await submit(sleeper.id, null);
    await waitFor(async () => (await events(running.id)).some((event) => event.type === 'tool.call'), { what: 'the sleep to start' });

    const cancelled = await api<Run>('POST', `/runs/${running.id}/cancel`, { reason: 'enough' });

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { code: 'cancelled', message: 'enough' } });
  });

  it('should finish a run in flight on SIGTERM and leave the one waiting behind it to the restarted agent-api', async () => {
    const slow = await agent({ config: { delay_ms: 1_500 }, concurrency: { policy: 'enqueue', max_concurrency: 1 } });
    const inFlight = await submit(slow.id, 'first');
    const waiting = await submit(slow.id, 'second');
    await waitFor(async () => (await run(inFlight.id)).status === 'running', { what: 'the first run to start' });

    const stopping = apiProcess;
    stopping.child.kill('SIGTERM');
    const exit = await stopping.exited;
    apiProcess = await stack.launch('agent-api');

    expect(exit).toEqual({ code: 0, signal: null });
    expect(await run(inFlight.id)).toMatchObject({ status: 'completed', output: 'first' });
    expect(await finished(waiting.id, 30_000)).toMatchObject({ status: 'completed', output: 'second', attempts: 1 });
    expect((await endedLog(waiting.id)).map((event) => event.type)).toEqual(['run.queued', 'run.started', 'run.completed']);
  }, 45_000);

  it('should resume the open runs of a SIGKILLed agent-api after a restart, calling no journaled tool again, with two processes sharing the database', async () => {
    const tag = Date.now().toString(36);
    const path = (name: string) => `/${name}-${tag}`;
    const post = (name: string) => ({ tool: 'http_request', input: { url: `${server.url}${path(name)}`, method: 'POST' } });
    const tool = await agent({
      kind: 'tool',
      config: { steps: [post('one'), { tool: 'sleep', input: { ms: 3_000 } }, post('two')], output: '{{steps.2.result.body.nth}}' },
      concurrency: { policy: 'enqueue', max_concurrency: 1 },
    });
    const running = await submit(tool.id, null);
    const queued = await submit(tool.id, null);
    // Killed after /one was journaled (its tool.result is logged after that), while the run sleeps.
    await waitFor(async () => (await events(running.id)).some((event) => event.type === 'tool.result'), { what: 'step one journaled' });

    const killed = apiProcess;
    killed.child.kill('SIGKILL');
    expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Two direct-mode processes come up on the same database and Redis: each run is resumed by exactly one.
    const [first, second] = await Promise.all([stack.launch('agent-api'), stack.launch('agent-api')]);
    apiProcess = first;

    expect(await finished(running.id, 45_000)).toMatchObject({ status: 'completed', attempts: 2 });
    expect(await finished(queued.id, 45_000)).toMatchObject({ status: 'completed', attempts: 1 });
    // The first run's /one once (replayed after the kill), each run's /two once.
    expect(server.to(path('one')).map((request) => request.idempotencyKey)).toEqual([`${running.id}:1`, `${queued.id}:1`]);
    expect(server.to(path('two')).map((request) => request.idempotencyKey).sort()).toEqual([`${running.id}:3`, `${queued.id}:3`].sort());
    const log = await endedLog(running.id);
    expect(log.filter((event) => event.type === 'run.started').map((event) => event.data.attempt)).toEqual([1, 2]);
    expect(log.flatMap((event) => (event.type === 'tool.result' ? [[event.data.attempt, event.data.replayed ?? false]] : []))).toEqual([
      [1, false],
      [2, true],
      [2, false],
      [2, false],
    ]);
    expect(second.child.exitCode).toBeNull();
  }, 90_000);
});
