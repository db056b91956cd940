import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';

import type { Agent, AgentList, ApiErrorBody, Run, RunEventsPage } from '@skreaver/contracts';
import { AgentRepository } from '@skreaver/persistence';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

/** A loopback HTTP server answering `{}` to everything and recording the headers it received. */
interface Receiver {
  url: string;
  received: IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: IncomingHttpHeaders[] = [];
  const server: Server = createServer((request, response) => {
    received.push(request.headers);
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Credentials in an agent's config (a webhook's signing secret, an llm api_key, header values, credentials in URLs)
// are write-only through the API, in tool.call events too, and only ever go to the destination they were set for.
describe('agent config secrets', () => {
  let api: BootedAgentApi;
  let viewer: string;
  let operator: string;
  let first: Receiver;
  let second: Receiver;

  // Header values no viewer may read, each with a value recognisable in any answer or event.
  const credentialHeaders = {
    Cookie: 'session=cookie-value-1',
    'Set-Cookie': 'sid=set-cookie-value-2',
    'X-Auth': 'x-auth-value-3',
    'X-Credentials': 'x-credentials-value-4',
    'X-Signature': 'x-signature-value-5',
    'X-Access-Key': 'x-access-key-value-6',
  };
  const clearValues = Object.values(credentialHeaders);

  beforeAll(async () => {
    [first, second] = await Promise.all([startReceiver(), startReceiver()]);
    // Direct mode: agent-api runs the runs itself, so tool.call events are written by this process.
    api = await bootAgentApi('sqlite', { SKREAVER_MESH_ENABLED: 'false', SKREAVER_TOOLS_ALLOWED_NETWORKS: '127.0.0.1/32' });
    viewer = await api.tokenFor((await api.createKey('viewer')).key);
    operator = await api.tokenFor((await api.createKey('operator')).key);
  });

  afterAll(async () => {
    await api?.close();
    await Promise.all([first?.close(), second?.close()]);
  });

  async function createAgent(kind: string, config: Record<string, unknown>): Promise<Agent> {
    const created = await api.request<Agent>('POST', '/agents', { token: operator, body: { name: `${kind}-agent`, kind, config } });
    expect(created.status).toBe(201);
    return created.body;
  }

  const stored = async (id: string) => (await api.app.get(AgentRepository).findById('default', id))?.config;

  /** A tool agent with one http_request step to `url` carrying `headers`. */
  const httpStep = (url: string, headers: Record<string, string>) => ({ steps: [{ tool: 'http_request', input: { url, method: 'POST', headers } }] });

  it('should never return a secret, and keep it when a client sends the redacted config back unchanged', async () => {
    const secret = 'whsec-0123456789abcdef';
    const created = await createAgent('webhook', { url: 'https://hooks.example.test/in', secret });
    expect(created.config['secret']).toBe('[redacted]');

    const read = await api.request<Agent>('GET', `/agents/${created.id}`, { token: viewer });
    const listed = await api.request<AgentList>('GET', '/agents', { token: viewer });
    for (const text of [JSON.stringify(read.body), JSON.stringify(listed.body)]) expect(text).not.toContain(secret);

    const patched = await api.request<Agent>('PATCH', `/agents/${created.id}`, { token: operator, body: { config: { ...read.body.config, timeout_ms: 5_000 } } });
    expect(patched.status).toBe(200);
    expect(await stored(created.id)).toMatchObject({ url: 'https://hooks.example.test/in', secret, timeout_ms: 5_000 });
    expect(api.logs.join('\n')).not.toContain(secret);
  });

  it("should show a viewer no credential header value or URL credential of an agent's config", async () => {
    const url = `${first.url}/in?access_token=url-token-7&page=2`;
    const created = await createAgent('tool', httpStep(url, { ...credentialHeaders, Accept: 'application/json' }));

    const read = await api.request<Agent>('GET', `/agents/${created.id}`, { token: viewer });
    const listed = await api.request<AgentList>('GET', '/agents', { token: viewer });

    expect(read.status).toBe(200);
    for (const text of [JSON.stringify(created), JSON.stringify(read.body), JSON.stringify(listed.body)]) {
      for (const value of [...clearValues, 'url-token-7']) expect(text).not.toContain(value);
    }
    expect(read.body.config).toEqual({
      steps: [
        {
          tool: 'http_request',
          input: {
            url: `${first.url}/in?access_token=[redacted]&page=2`,
            method: 'POST',
            headers: { ...Object.fromEntries(Object.keys(credentialHeaders).map((name) => [name, '[redacted]'])), Accept: 'application/json' },
          },
        },
      ],
    });
  });

  it('should show no credential header value in tool.call events, yet send it to the tool step URL', async () => {
    const agent = await createAgent('tool', httpStep(`${first.url}/events?token=url-token-8`, { ...credentialHeaders, 'Content-Type': 'text/plain' }));

    const run = await api.request<Run>('POST', `/agents/${agent.id}/runs?wait=10`, { token: operator, body: { input: {} } });
    expect(run.body).toMatchObject({ status: 'completed' });
    const events = await api.request<RunEventsPage>('GET', `/runs/${run.body.id}/events?limit=1000`, { token: viewer });

    const call = events.body.items.find((event) => event.type === 'tool.call');
    expect(call?.data).toMatchObject({ input: { url: `${first.url}/events?token=[redacted]`, headers: { 'X-Auth': '[redacted]', 'Set-Cookie': '[redacted]', 'Content-Type': 'text/plain' } } });
    expect(events.body.items.find((event) => event.type === 'tool.result')?.data).toMatchObject({ result: { url: `${first.url}/events?token=[redacted]` } });
    const text = JSON.stringify(events.body);
    for (const value of [...clearValues, 'url-token-8']) expect(text).not.toContain(value);
    expect(first.received.at(-1)).toMatchObject({ 'x-auth': 'x-auth-value-3', cookie: 'session=cookie-value-1' });
  });

  it('should refuse a webhook PATCH that changes the url and sends the redacted secret back', async () => {
    const secret = 'whsec-fedcba9876543210';
    const created = await createAgent('webhook', { url: 'https://hooks.example.test/in', secret });

    const moved = await api.request<ApiErrorBody>('PATCH', `/agents/${created.id}`, {
      token: operator,
      body: { config: { ...created.config, url: 'https://attacker.example.test/in' } },
    });

    expect(moved.status).toBe(400);
    expect(moved.body).toMatchObject({ error: 'validation_failed', details: [{ path: 'config.secret', message: expect.stringContaining('supplied again') }] });
    expect(await stored(created.id)).toEqual({ url: 'https://hooks.example.test/in', secret });

    const resupplied = await api.request<Agent>('PATCH', `/agents/${created.id}`, {
      token: operator,
      body: { config: { url: 'https://hooks.example.test/v2', secret: 'whsec-new-0123456789' } },
    });
    expect(resupplied.status).toBe(200);
    expect(await stored(created.id)).toMatchObject({ url: 'https://hooks.example.test/v2', secret: 'whsec-new-0123456789' });
  });

  it("should drop an llm agent's api_key when a PATCH changes base_url and sends the redacted key back", async () => {
    const created = await createAgent('llm', { base_url: 'https://models.example.test/v1', model: 'm', api_key: 'sk-live-llm-key' });

    const same = await api.request<Agent>('PATCH', `/agents/${created.id}`, { token: operator, body: { config: { ...created.config, model: 'm2' } } });
    expect(same.status).toBe(200);
    expect(await stored(created.id)).toMatchObject({ base_url: 'https://models.example.test/v1', api_key: 'sk-live-llm-key' });

    const moved = await api.request<Agent>('PATCH', `/agents/${created.id}`, {
      token: operator,
      body: { config: { ...same.body.config, base_url: 'https://attacker.example.test/v1' } },
    });

    expect(moved.status).toBe(200);
    expect(moved.body.config).not.toHaveProperty('api_key');
    const config = await stored(created.id);
    expect(config).toMatchObject({ base_url: 'https://attacker.example.test/v1', model: 'm2' });
    expect(config).not.toHaveProperty('api_key');
  });

  it("should drop a tool step's credential headers when a PATCH moves that step to another URL, and keep the other step's", async () => {
    const headers = { 'X-Auth': 'x-auth-step-secret', Accept: 'application/json' };
    const created = await createAgent('tool', {
      steps: [
        { tool: 'http_request', input: { url: `${first.url}/a`, method: 'POST', headers } },
        { tool: 'http_request', input: { url: `${first.url}/b`, method: 'POST', headers } },
      ],
    });
    const steps = created.config['steps'] as Array<{ input: Record<string, unknown> }>;

    const patched = await api.request<Agent>('PATCH', `/agents/${created.id}`, {
      token: operator,
      body: { config: { steps: [steps[0], { ...steps[1], input: { ...steps[1]?.input, url: `${second.url}/b` } }] } },
    });
    expect(patched.status).toBe(200);
    expect(await stored(created.id)).toMatchObject({
      steps: [
        { input: { url: `${first.url}/a`, headers } },
        { input: { url: `${second.url}/b`, headers: { Accept: 'application/json' } } },
      ],
    });

    const run = await api.request<Run>('POST', `/agents/${created.id}/runs?wait=10`, { token: operator, body: { input: {} } });
    expect(run.body).toMatchObject({ status: 'completed' });
    expect(second.received.at(-1)).not.toHaveProperty('x-auth');
    expect(JSON.stringify(second.received)).not.toContain('[redacted]');
  });
});
