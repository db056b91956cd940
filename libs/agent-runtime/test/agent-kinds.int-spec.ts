import { createHmac } from 'node:crypto';

import type { JsonValue, RunActivity } from '@skreaver/contracts';
import { startModelStandIn } from '@skreaver/testing';
import type { ModelStandIn } from '@skreaver/testing';
import { AgentRegistry, AgentRunner, GuardedHttpClient, NetworkPolicy, builtInAgents } from '../src';
import type { LlmDefaults, NetworkPolicyOptions } from '../src';

import { json, startLocalHttpServer } from './local-http-server';
import type { LocalHttpServer, ReceivedRequest } from './local-http-server';

const SECRET = 'webhook-secret-0123456789';
const LOOPBACK: NetworkPolicyOptions = { allowedNetworks: ['127.0.0.1'] };

function newRunner(policy: NetworkPolicyOptions, llm: LlmDefaults = {}) {
  const http = { maxTimeoutMs: 5_000, maxResponseBytes: 1024 * 1024 };
  const trustedHttp = new GuardedHttpClient(NetworkPolicy.create({ allowPrivateNetworks: true }), http);
  const runner = new AgentRunner({ registry: new AgentRegistry(builtInAgents({ llm: { defaults: llm, trustedHttp } })), network: NetworkPolicy.create(policy), http });
  const activities: RunActivity[] = [];
  const run = (kind: string, config: Record<string, JsonValue>, input: JsonValue) =>
    runner.run({
      agentId: '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e',
      runId: '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f',
      tenantId: 'default',
      attempt: 1,
      kind,
      config,
      input,
      signal: new AbortController().signal,
      onActivity: async (activity) => {
        activities.push(activity);
      },
    });
  return { run, activities };
}

describe('webhook agent', () => {
  let server: LocalHttpServer;
  let failuresLeft = 0;

  beforeAll(async () => {
    server = await startLocalHttpServer();
    server.route('/hook', (req, res) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        json(res, 503, { error: 'busy' });
        return;
      }
      const timestamp = String(req.headers['x-skreaver-timestamp']);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${req.body}`).digest('hex')}`;
      if (req.headers['x-skreaver-signature'] !== expected) return json(res, 401, { error: 'bad signature' });
      json(res, 200, { received: JSON.parse(req.body) as unknown, run: req.headers['x-skreaver-run-id'] ?? null });
    });
    server.route('/reject', (_req, res) => json(res, 422, { error: 'no thanks' }));
    server.route('/down', (_req, res) => json(res, 500, { error: 'down' }));
    server.route('/text', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('not json'));
    server.route('/empty', (_req, res) => res.writeHead(204).end());
  });

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(() => {
    failuresLeft = 0;
    server.requests.length = 0;
  });

  const config = (path: string, extra: Record<string, JsonValue> = {}) => ({ url: `${server.url}${path}`, secret: SECRET, retry_backoff_ms: 10, ...extra });

  it('should POST the signed input and answer with the JSON reply', async () => {
    const { run } = newRunner(LOOPBACK);

    expect(await run('webhook', config('/hook'), { order: 7 })).toEqual({ received: { order: 7 }, run: '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f' });

    const [delivery] = server.requests as [ReceivedRequest];
    expect(delivery).toMatchObject({ method: 'POST', body: '{"order":7}' });
    expect(delivery.headers).toMatchObject({
      'content-type': 'application/json',
      'x-skreaver-timestamp': expect.stringMatching(/^\d{10}$/),
      'x-skreaver-signature': expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
      'idempotency-key': '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f',
    });
  });

  it('should retry 5xx answers with backoff, one step per delivery', async () => {
    failuresLeft = 2;
    const { run, activities } = newRunner(LOOPBACK);

    expect(await run('webhook', config('/hook'), 'x')).toMatchObject({ received: 'x' });
    expect(server.requests).toHaveLength(3);
    expect(activities.map((activity) => (activity.type === 'run.step' ? activity.data.detail : null))).toEqual([{ delivery: 1 }, { delivery: 2 }, { delivery: 3 }]);
  });

  it('should give up after max_retries with a retryable webhook_unavailable', async () => {
    const { run } = newRunner(LOOPBACK);

    await expect(run('webhook', config('/down', { max_retries: 1 }), 1)).rejects.toMatchObject({ code: 'webhook_unavailable', permanent: false });
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    ['a 4xx answer', '/reject', 'webhook_rejected'],
    ['a reply that is not JSON', '/text', 'webhook_invalid_reply'],
  ])('should fail for good on %s without retrying', async (_label, path, code) => {
    const { run } = newRunner(LOOPBACK);

    await expect(run('webhook', config(path), 1)).rejects.toMatchObject({ code, permanent: true });
    expect(server.requests).toHaveLength(1);
  });

  it('should answer null for an empty reply', async () => {
    expect(await newRunner(LOOPBACK).run('webhook', config('/empty'), 1)).toBeNull();
  });

  it('should refuse a private webhook URL under the default policy without sending anything', async () => {
    await expect(newRunner({}).run('webhook', config('/hook'), 1)).rejects.toMatchObject({ code: 'webhook_refused', permanent: true, message: expect.stringContaining('loopback') });
    expect(server.requests).toHaveLength(0);
  });

  it('should reject a config without a long enough secret', () => {
    expect(new AgentRegistry().validateConfig('webhook', { url: 'https://example.com/hook', secret: 'short' }).success).toBe(false);
  });
});

describe('llm agent against an OpenAI-compatible server', () => {
  let model: ModelStandIn;
  let mode: 'tools' | 'loop' | 'unauthorized' | 'overloaded' = 'tools';

  beforeAll(async () => {
    model = await startModelStandIn({
      script: (request) => {
        if (mode === 'unauthorized') return { status: 401, body: { error: { message: 'bad key' } } };
        if (mode === 'overloaded') return { status: 503, body: { error: { message: 'overloaded' } } };
        const toolMessage = request.messages.find((message) => message.role === 'tool');
        if (mode === 'tools' && toolMessage) return { content: `The answer is ${String(toolMessage.content)}` };
        return { content: 'Let me compute.', tool_calls: [{ id: `call-${request.n}`, name: 'math', arguments: '{"expression":"6*7"}' }] };
      },
    });
  });

  afterAll(async () => {
    await model?.close();
  });

  beforeEach(() => {
    mode = 'tools';
    model.requests.length = 0;
  });

  const bodies = () => model.requests.map((request) => request.body);

  it('should call tools the model asks for and answer with its final message (settings from the environment)', async () => {
    const { run, activities } = newRunner({}, { baseUrl: model.baseUrl, apiKey: 'sk-env', model: 'tiny' });

    const output = await run('llm', { system: 'You are terse.', tools: ['math'] }, 'what is six times seven?');

    expect(output).toBe('The answer is {"value":42}');
    expect(model.requests[0]?.headers['authorization']).toBe('Bearer sk-env');
    expect(bodies()[0]).toMatchObject({
      model: 'tiny',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'what is six times seven?' },
      ],
      tools: [{ type: 'function', function: { name: 'math', parameters: { type: 'object', required: ['expression'] } } }],
    });
    expect(bodies()[1]).toMatchObject({
      messages: expect.arrayContaining([
        expect.objectContaining({ role: 'assistant', tool_calls: [expect.objectContaining({ id: 'call-1' })] }),
        { role: 'tool', tool_call_id: 'call-1', content: '{"value":42}' },
      ]),
    });
    expect(activities.map((activity) => activity.type)).toEqual(['run.step', 'run.output', 'tool.call', 'tool.result', 'run.step']);
  });

  it('should fail with max_steps_exceeded when the model never answers', async () => {
    mode = 'loop';
    const { run } = newRunner({}, { baseUrl: model.baseUrl, model: 'tiny' });

    await expect(run('llm', { limits: { max_steps: 3 } }, 'loop forever')).rejects.toMatchObject({ code: 'max_steps_exceeded', permanent: true });
    expect(model.requests).toHaveLength(3);
  });

  it.each([
    ['unauthorized', 'llm_error', true],
    ['overloaded', 'llm_unavailable', false],
  ] as const)('should fail an %s answer with %s', async (answer, code, permanent) => {
    mode = answer;
    const { run } = newRunner({}, { baseUrl: model.baseUrl, model: 'tiny' });

    await expect(run('llm', {}, 'hi')).rejects.toMatchObject({ code, permanent });
  });

  it("should put an agent's own base_url under the network policy, and never send it the environment's key", async () => {
    const config = { base_url: model.baseUrl, model: 'own' };

    await expect(newRunner({}, { apiKey: 'sk-env' }).run('llm', config, 'hi')).rejects.toMatchObject({ code: 'llm_error', message: expect.stringContaining('loopback') });
    expect(model.requests).toHaveLength(0);

    mode = 'tools';
    await newRunner(LOOPBACK, { apiKey: 'sk-env' }).run('llm', { ...config, tools: [] }, 'hi').catch(() => undefined);
    expect(model.requests[0]?.headers['authorization']).toBeUndefined();
  });

  it('should fail for good when no model is configured anywhere', async () => {
    await expect(newRunner({}, { baseUrl: model.baseUrl }).run('llm', {}, 'hi')).rejects.toMatchObject({ code: 'invalid_agent_config', permanent: true });
  });
});
