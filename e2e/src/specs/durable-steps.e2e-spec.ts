import type { Agent, Run, RunEventV1 } from '@skreaver/contracts';
import { countingServer, waitFor } from '@skreaver/testing';
import type { CountingServer } from '@skreaver/testing';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

const MODEL_PATH = '/v1/chat/completions';
// The first request to a path starting with /hold takes this long: a tool call in flight when its worker is killed.
const HOLD_MS = 4_000;

// Durable steps against the built services: tool and llm agents whose tools call a local server that counts
// requests; the coordinator executing their runs is killed with SIGKILL at several points (between steps after a
// result was journaled, while a tool call or a model call is in flight) and a new one started. Every run completes,
// and the server saw each call whose result was journaled exactly once. A call in flight at the kill (sent, its result
// not yet journaled) is sent again by the next attempt, with the same Idempotency-Key.
describe('durable steps: SIGKILL of the coordinator mid-run', () => {
  let stack: Stack;
  let server: CountingServer;
  let coordinator: ServiceProcess;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);

  beforeAll(async () => {
    server = await countingServer((request, nth) => {
      if (request.path === MODEL_PATH) return { body: modelReply(nth, server.url), ...(nth === 2 ? { delayMs: HOLD_MS } : {}) };
      return request.path.startsWith('/hold') && nth === 1 ? { delayMs: HOLD_MS } : undefined;
    });
    stack = await startStack({
      coordinators: 1,
      env: {
        // The test's server is on loopback.
        SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS: 'true',
        SKREAVER_LLM_BASE_URL: `${server.url}/v1`,
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
    await server?.close();
  }, 30_000);

  async function agent(body: Record<string, unknown>): Promise<Agent> {
    const created = await api<Agent>('POST', '/agents', { name: 'durable', ...body });
    expect(created.status).toBe(201);
    return created.body;
  }

  const submit = async (agentId: string, input: unknown) => (await api<Run>('POST', `/agents/${agentId}/runs`, { input })).body;
  const run = async (id: string) => (await api<Run>('GET', `/runs/${id}`)).body;
  const events = async (id: string) => (await api<{ items: RunEventV1[] }>('GET', `/runs/${id}/events?limit=1000`)).body.items;
  const finished = (id: string) =>
    waitFor(
      async () => {
        const current = await run(id);
        return ['completed', 'failed', 'cancelled'].includes(current.status) ? current : undefined;
      },
      { timeoutMs: 60_000, what: `run ${id} to finish` },
    );
  /** Tool results logged for the run: each was journaled before it was logged. */
  const toolResults = async (id: string) =>
    (await events(id)).flatMap((event) => (event.type === 'tool.result' ? [event.data] : []));
  /** Whether the run logged (so had journaled) the result of its request to `path`. */
  const journaled = async (id: string, path: string) =>
    (await toolResults(id)).some((result) => (result.result as { body?: { path?: string } } | undefined)?.body?.path === path) || undefined;

  /** SIGKILLs the coordinator (it holds the run) and starts another, which takes the run over once its lock expires. */
  async function killCoordinator(): Promise<void> {
    coordinator.child.kill('SIGKILL');
    expect(await coordinator.exited).toEqual({ code: null, signal: 'SIGKILL' });
    coordinator = await stack.launch('mesh-coordinator');
  }

  const keysOf = (path: string) => server.to(path).map((request) => request.idempotencyKey);

  it('should complete a tool run killed between steps and during a call, executing each journaled call once', async () => {
    const tag = Date.now().toString(36);
    const path = (name: string) => `/${name}-${tag}`;
    const post = (name: string) => ({ tool: 'http_request', input: { url: `${server.url}${path(name)}`, method: 'POST', body: { json: name } } });
    const sleep = (ms: number) => ({ tool: 'sleep', input: { ms } });
    const tool = await agent({
      kind: 'tool',
      config: {
        steps: [post('one'), sleep(3_000), post('hold-two'), sleep(200), post('three'), sleep(3_000), post('four')],
        output: ['{{steps.0.result.body.nth}}', '{{steps.2.result.body.nth}}', '{{steps.4.result.body.nth}}', '{{steps.6.result.body.nth}}'],
      },
    });
    const submitted = await submit(tool.id, null);

    // Kill point 1: /one answered and journaled (its tool.result is logged only after), the run sleeping after it.
    await waitFor(() => journaled(submitted.id, path('one')), { what: 'step one journaled' });
    await killCoordinator();
    // Kill point 2: /hold-two sent (the server holds its answer), its result not journaled yet.
    await waitFor(async () => server.to(path('hold-two')).length === 1 || undefined, { timeoutMs: 30_000, what: 'the call to /hold-two' });
    await killCoordinator();
    // Kill point 3: /three answered and journaled, the run sleeping before /four.
    await waitFor(() => journaled(submitted.id, path('three')), { timeoutMs: 30_000, what: 'step three journaled' });
    await killCoordinator();

    const done = await finished(submitted.id);

    expect(done).toMatchObject({ status: 'completed', attempts: 4 });
    // Each journaled call reached the server once; the one in flight at kill 2 twice, with one key.
    expect(keysOf(path('one'))).toEqual([`${done.id}:1`]);
    expect(keysOf(path('hold-two'))).toEqual([`${done.id}:3`, `${done.id}:3`]);
    expect(keysOf(path('three'))).toEqual([`${done.id}:5`]);
    expect(keysOf(path('four'))).toEqual([`${done.id}:7`]);
    // The run's output is what the server answered the first time it saw each call (the second for /hold-two).
    expect(done.output).toEqual([1, 2, 1, 1]);
    const log = await events(done.id);
    expect(log.map((event) => event.seq)).toEqual(log.map((_event, index) => index + 1));
    expect(log.filter((event) => event.type === 'run.completed')).toHaveLength(1);
    expect(log.filter((event) => event.type === 'run.started').map((event) => event.data.attempt)).toEqual([1, 2, 3, 4]);
    const results = await toolResults(done.id);
    process.stdout.write(
      `durable steps (tool run, 3 kills): requests per call ${['one', 'hold-two', 'three', 'four'].map((name) => server.to(path(name)).length).join('/')}, ` +
        `${results.filter((result) => result.replayed).length} tool results replayed, ${results.filter((result) => !result.replayed).length} executed\n`,
    );
  }, 120_000);

  it('should complete an llm run killed while its second model call is in flight, calling its tool once', async () => {
    const llm = await agent({ kind: 'llm', config: { system: 'use the tool' }, concurrency: { policy: 'enqueue', max_concurrency: 1 } });
    const submitted = await submit(llm.id, 'please call');

    // The model asked for the tool, the tool answered (journaled), and the model's second call is in flight.
    await waitFor(async () => server.to(MODEL_PATH).length === 2 || undefined, { timeoutMs: 30_000, what: 'the second model call' });
    expect(server.to('/llm-tool')).toHaveLength(1);
    await killCoordinator();

    const done = await finished(submitted.id);

    expect(done).toMatchObject({ status: 'completed', output: 'the tool said 1', attempts: 2 });
    // Model call 1 and the tool call were journaled: not repeated. Model call 2 was in flight: asked again once.
    expect(server.to(MODEL_PATH)).toHaveLength(3);
    expect(keysOf('/llm-tool')).toEqual([`${done.id}:2`]);
    const log = await events(done.id);
    expect(log.flatMap((event) => (event.type === 'tool.result' ? [[event.data.attempt, event.data.replayed ?? false]] : []))).toEqual([
      [1, false],
      [2, true],
    ]);
    process.stdout.write(`durable steps (llm run, 1 kill): model requests ${server.to(MODEL_PATH).length}, tool requests ${server.to('/llm-tool').length}\n`);
  }, 90_000);
});

/** The model stand-in's script: ask for the tool first, then answer with what the tool returned. */
function modelReply(nth: number, url: string): unknown {
  if (nth === 1) {
    const args = JSON.stringify({ url: `${url}/llm-tool`, method: 'POST' });
    return { choices: [{ message: { content: null, tool_calls: [{ id: 'call-1', type: 'function', function: { name: 'http_request', arguments: args } }] } }] };
  }
  return { choices: [{ message: { content: 'the tool said 1' }, finish_reason: 'stop' }] };
}
