import type { Agent, AgentList } from '@skreaver/contracts';
import { AgentRepository } from '@skreaver/persistence';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

// Credentials in an agent's config (a webhook's signing secret, an llm api_key) are write-only through the API.
describe('agent config secrets', () => {
  let api: BootedAgentApi;

  beforeAll(async () => {
    api = await bootAgentApi('sqlite');
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should never return a secret, and keep it when a client sends the redacted config back', async () => {
    const secret = 'whsec-0123456789abcdef';
    const created = await api.request<Agent>('POST', '/agents', {
      token: api.adminToken,
      body: { name: 'hook', kind: 'webhook', config: { url: 'https://hooks.example.test/in', secret } },
    });
    expect(created.status).toBe(201);
    expect(created.body.config['secret']).toBe('[redacted]');

    const read = await api.request<Agent>('GET', `/agents/${created.body.id}`, { token: api.adminToken });
    const listed = await api.request<AgentList>('GET', '/agents', { token: api.adminToken });
    for (const text of [JSON.stringify(read.body), JSON.stringify(listed.body)]) expect(text).not.toContain(secret);

    const patched = await api.request<Agent>('PATCH', `/agents/${created.body.id}`, {
      token: api.adminToken,
      body: { config: { ...read.body.config, url: 'https://hooks.example.test/v2' } },
    });
    expect(patched.status).toBe(200);
    const stored = await api.app.get(AgentRepository).findById('default', created.body.id);
    expect(stored?.config).toMatchObject({ url: 'https://hooks.example.test/v2', secret });
    expect(api.logs.join('\n')).not.toContain(secret);
  });
});
