import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Agent, ApiErrorBody, Run, RunEventsPage, RunEventV1 } from '@skreaver/contracts';
import { DATABASE_KINDS, waitFor } from '@skreaver/testing';
import { createRedis, type RedisClient } from '@skreaver/messaging';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

import { bootAgentApi } from './agent-api.harness';
import type { ApiResponse, BootedAgentApi, RequestOptions } from './agent-api.harness';

/** Executions of the plugin's journaled side effect, by run id: the plugin runs in this process (direct mode). */
const sideEffects = ((globalThis as { __humanInputSideEffects?: Record<string, number> }).__humanInputSideEffects ??= {});

const CITY_SCHEMA = { type: 'object', properties: { city: { type: 'string', minLength: 2 } }, required: ['city'] };

// Human input end to end in agent-api (direct mode: the runs execute in this process, against real Redis and a real
// database): waiting_input, POST /runs/{id}/resume (422, 409, idempotency), the slot a waiting run gives back,
// cancelling a waiting run, expiry (input_timeout, or the default), tool approval, and the events on the log and SSE.
describe.each(DATABASE_KINDS)('human input on %s', (kind) => {
  let api: BootedAgentApi;
  let pluginDir: string;
  let redis: RedisClient;
  // A scripted OpenAI-compatible endpoint: the first model call asks for request_input, the next ones answer with the
  // tool result they were given. Every request is recorded, so a test sees whether a model call was repeated.
  let model: Server;
  let modelUrl: string;
  const modelRequests: { messages: { role: string; content: string | null }[] }[] = [];

  beforeAll(async () => {
    model = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        const parsed = JSON.parse(body) as { messages: { role: string; content: string | null }[] };
        modelRequests.push(parsed);
        const toolResult = parsed.messages.find((message) => message.role === 'tool');
        const message = toolResult
          ? { role: 'assistant', content: `Sunny in ${String(JSON.parse(toolResult.content ?? 'null'))}` }
          : {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'request_input', arguments: JSON.stringify({ prompt: 'Which city?', schema: { type: 'string' } }) } }],
            };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ index: 0, message, finish_reason: 'stop' }] }));
      });
    });
    await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve));
    modelUrl = `http://127.0.0.1:${(model.address() as AddressInfo).port}/v1`;
    pluginDir = mkdtempSync(join(tmpdir(), 'skreaver-human-input-'));
    writeFileSync(
      join(pluginDir, 'asker.js'),
      `const { z } = require(${JSON.stringify(require.resolve('zod'))});
const counts = (globalThis.__humanInputSideEffects ??= {});
const CITY = ${JSON.stringify(CITY_SCHEMA)};
module.exports = [{
  kind: 'asker',
  description: 'asks a person, after a journaled side effect',
  configSchema: z.object({ mode: z.enum(['ask', 'twice', 'approve', 'none']).default('ask'), timeout_seconds: z.number().optional(), default: z.json().optional() }),
  run: async (input, context) => {
    const { mode, timeout_seconds, default: fallback } = context.config;
    if (mode === 'none') return { done: true };
    if (mode === 'approve') return context.tools.call('math', { expression: '6*7' });
    const before = await context.step('side-effect', async () => (counts[context.runId] = (counts[context.runId] ?? 0) + 1));
    const first = await context.waitForInput({
      prompt: 'Which city?',
      schema: CITY,
      ...(timeout_seconds === undefined ? {} : { timeout_seconds }),
      ...(fallback === undefined ? {} : { default: fallback }),
    });
    if (mode !== 'twice') return { before, first };
    return { before, first, second: await context.waitForInput({ prompt: 'Which date?' }) };
  },
}];
`,
    );
    api = await bootAgentApi(kind, {
      SKREAVER_MESH_ENABLED: 'false',
      SKREAVER_AGENT_PLUGINS: join(pluginDir, 'asker.js'),
      RUN_INPUT_SWEEP_INTERVAL_MS: '100',
      SKREAVER_TOOLS_ALLOWED_NETWORKS: '127.0.0.1/32',
    });
    redis = createRedis(api.redis.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await api?.close();
    rmSync(pluginDir, { recursive: true, force: true });
    await new Promise((resolve) => model?.close(resolve));
  });

  const call = <T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> =>
    api.request<T>(method, path, { token: api.adminToken, ...options });

  async function newAgent(config: Record<string, unknown>, agentKind = 'asker'): Promise<Agent> {
    const created = await call<Agent>('POST', '/agents', { body: { name: `asker-${Math.random().toString(36).slice(2, 8)}`, kind: agentKind, config } });
    expect(created.status).toBe(201);
    return created.body;
  }

  async function start(agent: Agent, input: unknown = { q: 1 }): Promise<Run> {
    const submitted = await call<Run>('POST', `/agents/${agent.id}/runs`, { body: { input } });
    expect(submitted.status).toBe(202);
    return submitted.body;
  }

  const run = async (id: string) => (await call<Run>('GET', `/runs/${id}`)).body;
  const until = (id: string, status: Run['status']) =>
    waitFor(async () => ((await run(id)).status === status ? run(id) : undefined), { what: `run ${id} to be ${status}`, timeoutMs: 20_000 });
  const events = async (id: string): Promise<RunEventV1[]> => (await call<RunEventsPage>('GET', `/runs/${id}/events`)).body.items;
  const resume = (id: string, body: unknown, headers: Record<string, string> = {}) => call<Run & ApiErrorBody>('POST', `/runs/${id}/resume`, { body, headers });
  const activeSlots = (agentId: string) => redis.scard(`${api.redis.prefix}:agent-slots:{${agentId}}:active`);

  describe('a run that asks for input', () => {
    let agent: Agent;
    let waiting: Run;

    beforeAll(async () => {
      agent = await newAgent({});
      waiting = await until((await start(agent)).id, 'waiting_input');
    });

    it('should wait with its pending input, having run the step before it once', async () => {
      expect(waiting.pending_inputs).toEqual([{ id: 'input_1', kind: 'input', prompt: 'Which city?', schema: CITY_SCHEMA, expires_at: expect.any(String) }]);
      expect(waiting.attempts).toBe(0);
      expect(sideEffects[waiting.id]).toBe(1);
      expect((await events(waiting.id)).map((event) => event.type)).toEqual(['run.queued', 'run.started', 'run.waiting_input']);
    });

    it('should match the OpenAPI document (status, pending_inputs), which documents the resume route', async () => {
      const document = (await api.request<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: unknown }>('GET', '/openapi.json')).body;
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema({ $id: 'https://skreaver.local/openapi.json', components: document.components });
      const validatePending = ajv.getSchema('https://skreaver.local/openapi.json#/components/schemas/Run/properties/pending_inputs');
      const validateStatus = ajv.getSchema('https://skreaver.local/openapi.json#/components/schemas/Run/properties/status');

      expect(validatePending?.(waiting.pending_inputs) ? [] : validatePending?.errors).toEqual([]);
      expect(validateStatus?.(waiting.status)).toBe(true);
      expect(Object.keys(document.paths['/runs/{id}/resume']?.['post']?.responses ?? {})).toEqual(expect.arrayContaining(['200', '404', '409', '422']));
    });

    it('should list it under ?status=waiting_input', async () => {
      const listed = await call<{ items: Run[] }>('GET', `/runs?status=waiting_input&agent_id=${agent.id}`);

      expect(listed.body.items.map((item) => item.id)).toEqual([waiting.id]);
    });

    it('should hold no slot of its agent while it waits', async () => {
      expect(await activeSlots(agent.id)).toBe(0);
    });

    it('should answer 422 input_invalid with the issues for an answer its schema refuses', async () => {
      const refused = await resume(waiting.id, { inputs: { input_1: { city: 'X' } } });

      expect(refused.status).toBe(422);
      expect(refused.body.error).toBe('input_invalid');
      expect(refused.body.details).toEqual({ issues: [{ input_id: 'input_1', path: 'city', message: expect.any(String) }] });
    });

    it('should answer 400 validation_failed for a body that is neither inputs nor approve', async () => {
      const invalid = await resume(waiting.id, { inputs: { input_1: { city: 'Paris' } }, approve: true });

      expect([invalid.status, invalid.body.error]).toEqual([400, 'validation_failed']);
    });

    it('should answer 409 input_unknown for an input it does not wait for, and for an approval', async () => {
      const unknown = await resume(waiting.id, { inputs: { input_1: { city: 'Paris' }, input_7: 1 } });
      const approval = await resume(waiting.id, { approve: true });

      expect([unknown.status, unknown.body.error]).toEqual([409, 'input_unknown']);
      expect([approval.status, approval.body.error]).toEqual([409, 'input_unknown']);
      expect((await run(waiting.id)).status).toBe('waiting_input');
    });

    describe('resumed with an Idempotency-Key', () => {
      let first: ApiResponse<Run & ApiErrorBody>;
      let repeat: ApiResponse<Run & ApiErrorBody>;
      let reused: ApiResponse<Run & ApiErrorBody>;
      let done: Run;

      beforeAll(async () => {
        first = await resume(waiting.id, { inputs: { input_1: { city: 'Paris' } } }, { 'idempotency-key': 'answer-1' });
        repeat = await resume(waiting.id, { inputs: { input_1: { city: 'Paris' } } }, { 'idempotency-key': 'answer-1' });
        reused = await resume(waiting.id, { inputs: { input_1: { city: 'Lyon' } } }, { 'idempotency-key': 'answer-1' });
        done = await until(waiting.id, 'completed');
      });

      it('should answer 200 with the same run, queued again', () => {
        expect(first.status).toBe(200);
        expect(first.body).toMatchObject({ id: waiting.id, pending_inputs: [] });
        expect(['queued', 'running', 'completed']).toContain(first.body.status);
      });

      it('should answer a repeat with the run and change nothing', () => {
        expect(repeat.status).toBe(200);
        expect(repeat.headers.get('idempotency-replayed')).toBe('true');
        expect(repeat.body.id).toBe(waiting.id);
      });

      it('should refuse the key with another body (422 idempotency_key_reused)', () => {
        expect([reused.status, reused.body.error]).toEqual([422, 'idempotency_key_reused']);
      });

      it('should complete with the answer, the step before the wait not run again', () => {
        expect(done.output).toEqual({ before: 1, first: { city: 'Paris' } });
        expect(sideEffects[waiting.id]).toBe(1);
        expect(done.attempts).toBe(1);
      });

      it('should log run.waiting_input, one run.resumed, then the replay and the outcome', async () => {
        const types = (await events(waiting.id)).map((event) => event.type);

        expect(types).toEqual(['run.queued', 'run.started', 'run.waiting_input', 'run.resumed', 'run.started', 'run.completed']);
        expect((await events(waiting.id)).find((event) => event.type === 'run.resumed')?.data).toEqual({ input_ids: ['input_1'], by: expect.any(String) });
      });

      it('should answer 409 run_not_waiting once it no longer waits', async () => {
        const late = await resume(waiting.id, { inputs: { input_1: { city: 'Rome' } } });

        expect([late.status, late.body.error]).toEqual([409, 'run_not_waiting']);
      });

      it('should stream both events over SSE', async () => {
        const response = await fetch(`${api.url}/runs/${waiting.id}/events`, { headers: { ...api.adminHeaders, accept: 'text/event-stream' } });
        const text = await response.text();

        expect(text).toContain('event: run.waiting_input');
        expect(text).toContain('event: run.resumed');
        expect(text).toContain('event: run.completed');
      });
    });
  });

  it('should answer ?wait= as soon as the run waits for input (202), and observe with 409 run_waiting_input', async () => {
    const agent = await newAgent({});

    const waited = await call<Run>('POST', `/agents/${agent.id}/runs?wait=60`, { body: { input: 1 } });
    const observed = await call<ApiErrorBody>('POST', `/agents/${agent.id}/observe`, { body: { input: 2, timeout_seconds: 60 } });

    expect(waited.status).toBe(202);
    expect(waited.body).toMatchObject({ status: 'waiting_input', pending_inputs: [{ id: 'input_1' }] });
    expect(observed.status).toBe(409);
    expect(observed.body).toMatchObject({ error: 'run_waiting_input', details: { pending_inputs: [{ id: 'input_1' }] } });
    for (const id of [waited.body.id, (observed.body.details as { run_id: string }).run_id]) await call('POST', `/runs/${id}/cancel`);
  });

  it('should answer 409 input_already_answered for an input answered before, while the run waits for the next', async () => {
    const agent = await newAgent({ mode: 'twice' });
    const { id } = await until((await start(agent)).id, 'waiting_input');
    expect((await resume(id, { inputs: { input_1: { city: 'Oslo' } } })).status).toBe(200);
    const second = await waitFor(async () => {
      const now = await run(id);
      return now.status === 'waiting_input' && now.pending_inputs[0]?.id === 'input_2' ? now : undefined;
    }, { what: 'the second input' });

    const again = await resume(id, { inputs: { input_1: { city: 'Oslo' } } });
    expect([again.status, again.body.error]).toEqual([409, 'input_already_answered']);
    expect(second.pending_inputs.map((input) => input.id)).toEqual(['input_2']);

    expect((await resume(id, { inputs: { input_2: '2027-01-01' } })).status).toBe(200);
    expect((await until(id, 'completed')).output).toEqual({ before: 1, first: { city: 'Oslo' }, second: '2027-01-01' });
    expect(sideEffects[id]).toBe(1);
  });

  it('should let another run of a concurrency-1 agent complete while one waits', async () => {
    const asker = await newAgent({});
    const waiting = await until((await start(asker)).id, 'waiting_input');
    const other = await call<Agent>('PATCH', `/agents/${asker.id}`, { body: { config: { mode: 'none' } } });
    expect(other.status).toBe(200);

    const second = await until((await start(asker)).id, 'completed');

    expect(second.output).toEqual({ done: true });
    expect((await run(waiting.id)).status).toBe('waiting_input');
    expect(asker.concurrency.max_concurrency).toBe(1);
  });

  it('should cancel a waiting run at once, freeing nothing twice', async () => {
    const agent = await newAgent({});
    const waiting = await until((await start(agent)).id, 'waiting_input');

    const cancelled = await call<Run>('POST', `/runs/${waiting.id}/cancel`, { body: { reason: 'no longer needed' } });

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', pending_inputs: [], error: { code: 'cancelled', message: 'no longer needed' } });
    expect((await events(waiting.id)).map((event) => event.type).slice(-2)).toEqual(['run.waiting_input', 'run.cancelled']);
    const next = await until((await start(agent)).id, 'waiting_input');
    expect(await activeSlots(agent.id)).toBe(0);
    expect((await resume(waiting.id, { inputs: { input_1: { city: 'Bern' } } })).body.error).toBe('run_not_waiting');
    await call('POST', `/runs/${next.id}/cancel`);
  });

  it('should fail a run whose wait expired with input_timeout, and refuse a late answer', async () => {
    const agent = await newAgent({ timeout_seconds: 1 });
    const { id } = await until((await start(agent)).id, 'waiting_input');

    const failed = await until(id, 'failed');

    expect(failed.error).toEqual({ code: 'input_timeout', message: expect.stringContaining('input_1') });
    expect(failed.pending_inputs).toEqual([]);
    expect((await events(id)).at(-1)).toMatchObject({ type: 'run.failed', data: { code: 'input_timeout', final: true } });
    expect((await resume(id, { inputs: { input_1: { city: 'Riga' } } })).body.error).toBe('run_not_waiting');
    // Counted once the sweep that ended the wait is done.
    await waitFor(async () => /^skreaver_run_input_waits_expired_total\{outcome="timed_out"\} [1-9]/m.test((await api.request<string>('GET', '/metrics')).body), {
      what: 'the expired wait to be counted',
    });
  });

  it('should go on with the default answer when the wait expires and the request set one', async () => {
    const agent = await newAgent({ timeout_seconds: 1, default: { city: 'Default City' } });
    const { id } = await until((await start(agent)).id, 'waiting_input');

    const done = await until(id, 'completed');

    expect(done.output).toEqual({ before: 1, first: { city: 'Default City' } });
    expect((await events(id)).find((event) => event.type === 'run.resumed')?.data).toEqual({ input_ids: ['input_1'], by: 'input_timeout_default' });
    // Counted once the sweep that ended the wait is done.
    await waitFor(async () => /^skreaver_run_input_waits_expired_total\{outcome="defaulted"\} [1-9]/m.test((await api.request<string>('GET', '/metrics')).body), {
      what: 'the expired wait to be counted',
    });
  });

  it('should let an llm agent ask through request_input and answer after the resume, its first model call not repeated', async () => {
    const agent = await newAgent({ base_url: modelUrl, model: 'scripted', tools: ['request_input'] }, 'llm');
    const waiting = await until((await start(agent, 'What is the weather?')).id, 'waiting_input');
    expect(waiting.pending_inputs).toEqual([{ id: 'input_1', kind: 'input', prompt: 'Which city?', schema: { type: 'string' }, expires_at: expect.any(String) }]);
    expect(modelRequests).toHaveLength(1);

    expect((await resume(waiting.id, { inputs: { input_1: 'Paris' } })).status).toBe(200);
    const done = await until(waiting.id, 'completed');

    expect(done.output).toBe('Sunny in Paris');
    // One request before the wait, one after: the replay took the first model call from the journal.
    expect(modelRequests).toHaveLength(2);
    expect(modelRequests[1]?.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    const logged = await events(waiting.id);
    expect(logged.filter((event) => event.type === 'tool.result').map((event) => event.data)).toEqual([
      expect.objectContaining({ tool: 'request_input', ok: true, result: 'Paris' }),
    ]);
    modelRequests.length = 0;
  });

  describe('a tool that needs approval', () => {
    it('should wait before the call, then run it once approved', async () => {
      const agent = await newAgent({ mode: 'approve', approval: { tools: ['math'] } });
      const waiting = await until((await start(agent)).id, 'waiting_input');
      expect(waiting.pending_inputs).toEqual([
        { id: 'input_1', kind: 'approval', prompt: expect.stringContaining('math'), tool: 'math', tool_input: { expression: '6*7' }, expires_at: expect.any(String) },
      ]);
      expect((await events(waiting.id)).some((event) => event.type === 'tool.call')).toBe(false);

      expect((await resume(waiting.id, { approve: true })).status).toBe(200);

      expect((await until(waiting.id, 'completed')).output).toEqual({ ok: true, result: expect.objectContaining({ value: 42 }) });
    });

    it('should give the agent approval_denied when refused', async () => {
      const agent = await newAgent({ mode: 'approve', approval: { tools: ['math'] } });
      const waiting = await until((await start(agent)).id, 'waiting_input');

      expect((await resume(waiting.id, { approve: false, reason: 'not now' })).status).toBe(200);

      expect((await until(waiting.id, 'completed')).output).toEqual({
        ok: false,
        error: { code: 'approval_denied', message: 'a person refused this math call: not now', retryable: false },
      });
    });

    it('should refuse an answer that is not a decision (422)', async () => {
      const agent = await newAgent({ mode: 'approve', approval: { tools: ['math'] } });
      const waiting = await until((await start(agent)).id, 'waiting_input');

      const refused = await resume(waiting.id, { inputs: { input_1: 'yes' } });

      expect([refused.status, refused.body.error]).toEqual([422, 'input_invalid']);
      await call('POST', `/runs/${waiting.id}/cancel`);
    });
  });
});
