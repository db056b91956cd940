import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Agent, Run, RunEventV1 } from '@skreaver/contracts';
import { countingServer, waitFor } from '@skreaver/testing';
import type { CountingServer } from '@skreaver/testing';

import { call } from '../support/api-client';
import { plainWsClient, socketIoClient } from '../support/gateway-clients';
import type { LiveClient } from '../support/gateway-clients';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

// Human input against the built services (BullMQ queue, a real coordinator, a gateway): a run that did a side effect
// waits for a person; its coordinator is stopped and a new one started; the resume runs the same run id to the end
// on the new coordinator, and the side effect before the wait is not repeated (a local HTTP server counts it).
describe('human input', () => {
  let stack: Stack;
  let pluginDir: string;
  let server: CountingServer;
  let coordinator: ServiceProcess;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);

  beforeAll(async () => {
    server = await countingServer();
    pluginDir = mkdtempSync(join(tmpdir(), 'skreaver-e2e-input-'));
    writeFileSync(
      join(pluginDir, 'booker.mjs'),
      `import { createRequire } from 'node:module';
const { z } = createRequire(import.meta.url)(${JSON.stringify(require.resolve('zod'))});
export const booker = {
  kind: 'booker',
  description: 'reserves, asks a person to confirm, then books',
  configSchema: z.strictObject({ url: z.string(), timeout_seconds: z.number().optional() }),
  async run(input, context) {
    const { url, timeout_seconds } = context.config;
    if (input?.mode === 'slow') return context.tools.call('sleep', { ms: 1500 });
    const reserved = await context.tools.call('http_request', { url: url + '/reserve', method: 'POST', body: { json: { run: context.runId } } });
    const answer = await context.waitForInput({ prompt: 'Confirm the booking?', schema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] }, ...(timeout_seconds ? { timeout_seconds } : {}) });
    const booked = await context.tools.call('http_request', { url: url + '/book', method: 'POST', body: { json: { run: context.runId } } });
    return { reserved: reserved.ok, answer, booked: booked.ok };
  },
};
`,
    );
    stack = await startStack({
      env: {
        SKREAVER_AGENT_PLUGINS: join(pluginDir, 'booker.mjs'),
        SKREAVER_TOOLS_ALLOWED_NETWORKS: '127.0.0.1/32',
        SKREAVER_RATE_LIMIT_PER_SUBJECT: '0',
        SKREAVER_RATE_LIMIT_PER_IP: '0',
        RUN_INPUT_SWEEP_INTERVAL_MS: '300',
      },
    });
    coordinator = stack.coordinator;
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await server?.close();
    rmSync(pluginDir, { recursive: true, force: true });
  }, 30_000);

  async function newAgent(config: Record<string, unknown> = {}): Promise<Agent> {
    const created = await api<Agent>('POST', '/agents', { name: 'booker', kind: 'booker', config: { url: server.url, ...config } });
    expect(created.status).toBe(201);
    return created.body;
  }
  const submit = async (agentId: string, mode: 'ask' | 'slow' = 'ask') => (await api<Run>('POST', `/agents/${agentId}/runs`, { input: { trip: 'Oslo', mode } })).body;
  const run = async (id: string) => (await api<Run>('GET', `/runs/${id}`)).body;
  const events = async (id: string) => (await api<{ items: RunEventV1[] }>('GET', `/runs/${id}/events?limit=1000`)).body.items;
  const until = (id: string, status: Run['status']) =>
    waitFor(async () => ((await run(id)).status === status ? run(id) : undefined), { what: `run ${id} to be ${status}`, timeoutMs: 30_000 });
  const sawRun = (path: string, runId: string) => server.to(path).filter((request) => request.body.includes(runId)).length;

  describe('resumed after its coordinator was replaced', () => {
    let agent: Agent;
    let waiting: Run;
    let done: Run;
    let socketIo: LiveClient;
    let plainWs: LiveClient;

    beforeAll(async () => {
      agent = await newAgent();
      const gatewayUrl = stack.gateways[0]?.url ?? '';
      socketIo = await socketIoClient(gatewayUrl, stack.adminToken);
      plainWs = await plainWsClient(gatewayUrl, stack.adminToken);
      expect((await socketIo.subscribe({ agent_id: agent.id })).ok).toBe(true);
      expect((await plainWs.subscribe({ agent_id: agent.id })).ok).toBe(true);
      waiting = await until((await submit(agent.id)).id, 'waiting_input');

      coordinator.child.kill('SIGTERM');
      expect((await coordinator.exited).code).toBe(0);
      coordinator = await stack.launch('mesh-coordinator');

      const asked = performance.now();
      const resumed = await api<Run>('POST', `/runs/${waiting.id}/resume`, { inputs: { input_1: { confirm: true } } });
      const answeredMs = performance.now() - asked;
      expect(resumed.status).toBe(200);
      done = await until(waiting.id, 'completed');
      process.stdout.write(`resume answered in ${answeredMs.toFixed(0)} ms; run completed ${(performance.now() - asked).toFixed(0)} ms after the resume\n`);
    }, 90_000);

    afterAll(() => {
      socketIo?.close();
      plainWs?.close();
    });

    it('should complete the same run with the answer', () => {
      expect(done.id).toBe(waiting.id);
      expect(done.output).toEqual({ reserved: true, answer: { confirm: true }, booked: true });
    });

    it('should not repeat the side effect before the wait, and make the one after it once', () => {
      expect(sawRun('/reserve', waiting.id)).toBe(1);
      expect(sawRun('/book', waiting.id)).toBe(1);
    });

    it('should log the wait, the resume and the replayed call', async () => {
      const logged = await events(waiting.id);

      expect(logged.map((event) => event.type)).toEqual([
        'run.queued',
        'run.started',
        'tool.call',
        'tool.result',
        'run.waiting_input',
        'run.resumed',
        'run.started',
        'tool.call',
        'tool.result',
        'tool.call',
        'tool.result',
        'run.completed',
      ]);
      expect(logged[7]?.data).toMatchObject({ replayed: true });
      expect(logged.map((event) => event.seq)).toEqual(logged.map((_event, index) => index + 1));
    });

    it.each([
      ['socket.io', () => socketIo],
      ['/ws', () => plainWs],
    ])('should deliver run.waiting_input and run.resumed over %s', async (_label, client) => {
      await waitFor(() => client().events.some((event) => event.run_id === waiting.id && event.type === 'run.completed'), { what: 'the run to end live' });
      const types = client()
        .events.filter((event) => event.run_id === waiting.id)
        .map((event) => event.type);

      expect(types).toEqual(expect.arrayContaining(['run.waiting_input', 'run.resumed']));
      expect(types.indexOf('run.waiting_input')).toBeLessThan(types.indexOf('run.resumed'));
    });
  });

  it('should let a concurrency-1 agent run others while one waits, and queue the resumed run behind a busy slot', async () => {
    const agent = await newAgent();
    const waiting = await until((await submit(agent.id)).id, 'waiting_input');

    const busy = await submit(agent.id, 'slow');
    await until(busy.id, 'running');
    // The slot is held: the resumed run waits its turn, and is enqueued (under its own id) when the slow run ends.
    const resumed = await api<Run>('POST', `/runs/${waiting.id}/resume`, { inputs: { input_1: { confirm: false } } });
    expect(resumed.status).toBe(200);

    expect((await until(busy.id, 'completed')).output).toMatchObject({ ok: true });
    const done = await until(waiting.id, 'completed');
    expect(done.output).toEqual({ reserved: true, answer: { confirm: false }, booked: true });
    expect([sawRun('/reserve', waiting.id), sawRun('/book', waiting.id)]).toEqual([1, 1]);
    // One slot: the resumed run started again only once the slow run had ended.
    const busyEnded = (await events(busy.id)).find((event) => event.type === 'run.completed')?.ts ?? '';
    const restarted = (await events(waiting.id)).filter((event) => event.type === 'run.started').at(-1)?.ts ?? '';
    expect(restarted >= busyEnded).toBe(true);
  });

  it('should fail a run whose wait expired on the coordinator with input_timeout', async () => {
    const agent = await newAgent({ timeout_seconds: 1 });
    const { id } = await until((await submit(agent.id)).id, 'waiting_input');

    const failed = await until(id, 'failed');

    expect(failed.error).toMatchObject({ code: 'input_timeout' });
    expect((await events(id)).at(-1)).toMatchObject({ type: 'run.failed', data: { code: 'input_timeout', final: true } });
  });

  it('should send a mesh requester one reply, once the run it asked for was resumed and completed', async () => {
    const agent = await newAgent();
    const requested = api<{ status: string; reply?: { status: string; output: unknown } }>('POST', '/mesh/messages', {
      to: agent.id,
      kind: 'book',
      payload: { trip: 'Bergen' },
      wait_seconds: 60,
    });
    const waiting = await waitFor(async () => (await api<{ items: Run[] }>('GET', `/runs?status=waiting_input&agent_id=${agent.id}`)).body.items[0], {
      what: 'the mesh run to wait',
      timeoutMs: 30_000,
    });

    expect((await api<Run>('POST', `/runs/${waiting.id}/resume`, { inputs: { input_1: { confirm: true } } })).status).toBe(200);
    const replied = await requested;

    expect(replied.status).toBe(200);
    expect(replied.body).toMatchObject({ status: 'replied', reply: { status: 'completed', output: { answer: { confirm: true }, booked: true } } });
  }, 60_000);

  describe('in direct mode (no coordinator), across an agent-api SIGKILL', () => {
    let direct: Stack;
    let apiProcess: ServiceProcess;
    const directApi = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(apiProcess.url, method, path, body);
    const directRun = async (id: string) => (await directApi<Run>('GET', `/runs/${id}`)).body;
    const directUntil = (id: string, status: Run['status']) =>
      waitFor(async () => ((await directRun(id)).status === status ? directRun(id) : undefined), { what: `run ${id} to be ${status}`, timeoutMs: 30_000 });

    beforeAll(async () => {
      direct = await startStack({
        coordinators: 0,
        gateways: 0,
        env: {
          SKREAVER_MESH_ENABLED: 'false',
          SKREAVER_AGENT_PLUGINS: join(pluginDir, 'booker.mjs'),
          SKREAVER_TOOLS_ALLOWED_NETWORKS: '127.0.0.1/32',
          RUN_DIRECT_LEASE_MS: '1000',
        },
      });
      apiProcess = direct.api;
    }, 60_000);

    afterAll(async () => {
      await direct?.stop();
    }, 30_000);

    it('should keep the run waiting through the restart and its recovery passes, then complete it once resumed', async () => {
      const created = await directApi<Agent>('POST', '/agents', { name: 'booker', kind: 'booker', config: { url: server.url } });
      const submitted = await directApi<Run>('POST', `/agents/${created.body.id}/runs`, { input: { trip: 'Tromsø' } });
      const waiting = await directUntil(submitted.body.id, 'waiting_input');

      apiProcess.child.kill('SIGKILL');
      await apiProcess.exited;
      apiProcess = await direct.launch('agent-api');
      // Several recovery passes (every RUN_DIRECT_LEASE_MS) go by: none may take the waiting run up again.
      const logged = async () => (await directApi<{ items: RunEventV1[] }>('GET', `/runs/${waiting.id}/events`)).body.items.map((event) => event.type);
      await waitFor(async () => (await directApi<{ status: string }>('GET', '/ready')).status === 200, { what: 'the restarted agent-api to be ready' });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await directRun(waiting.id)).toMatchObject({ status: 'waiting_input', pending_inputs: [{ id: 'input_1' }] });
      expect(await logged()).toEqual(['run.queued', 'run.started', 'tool.call', 'tool.result', 'run.waiting_input']);

      expect((await directApi<Run>('POST', `/runs/${waiting.id}/resume`, { inputs: { input_1: { confirm: true } } })).status).toBe(200);

      expect((await directUntil(waiting.id, 'completed')).output).toEqual({ reserved: true, answer: { confirm: true }, booked: true });
      expect([sawRun('/reserve', waiting.id), sawRun('/book', waiting.id)]).toEqual([1, 1]);
    }, 60_000);
  });
});
