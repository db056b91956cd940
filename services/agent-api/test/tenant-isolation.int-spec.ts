import type { Agent, AgentList, AuditList, Run } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

// Another tenant's agents and runs are invisible: every read answers 404 (never 403, which would confirm they
// exist), lists leave them out, and writes cannot reach them.
describe.each(DATABASE_KINDS)('tenant isolation of agents and runs on %s', (kind) => {
  let api: BootedAgentApi;
  let acme: string;

  beforeAll(async () => {
    api = await bootAgentApi(kind);
    acme = await api.tokenFor((await api.createKey('admin', { tenant_id: 'acme' })).key);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should keep one tenant\'s agents and runs out of another\'s reach', async () => {
    const agent = (await api.request<Agent>('POST', '/agents', { token: api.adminToken, body: { name: 'private', kind: 'echo' } })).body;
    const run = (await api.request<Run>('POST', `/agents/${agent.id}/runs`, { token: api.adminToken, body: { input: 'secret' } })).body;
    const own = (await api.request<Agent>('POST', '/agents', { token: acme, body: { name: 'acme-bot', kind: 'echo' } })).body;
    expect(own.tenant_id).toBe('acme');

    for (const [method, path, body] of [
      ['GET', `/agents/${agent.id}`],
      ['GET', `/agents/${agent.id}/status`],
      ['GET', `/agents/${agent.id}/runs`],
      ['PATCH', `/agents/${agent.id}`, { name: 'stolen' }],
      ['DELETE', `/agents/${agent.id}`],
      ['POST', `/agents/${agent.id}/runs`, { input: 1 }],
      ['GET', `/runs/${run.id}`],
      ['GET', `/runs/${run.id}/events`],
      ['POST', `/runs/${run.id}/cancel`],
    ] as const) {
      const response = await api.request(method, path, { token: acme, body });
      expect([method, path, response.status]).toEqual([method, path, 404]);
    }

    const acmeList = (await api.request<AgentList>('GET', '/agents', { token: acme })).body;
    expect(acmeList.items.map((a) => a.id)).toEqual([own.id]);
    const defaultList = (await api.request<AgentList>('GET', '/agents', { token: api.adminToken })).body;
    expect(defaultList.items.map((a) => a.id)).not.toContain(own.id);
    expect((await api.request<Agent>('GET', `/agents/${agent.id}`, { token: api.adminToken })).body.name).toBe('private');
  });

  it('should audit agent deletion in the deleting tenant\'s log', async () => {
    const doomed = (await api.request<Agent>('POST', '/agents', { token: acme, body: { name: 'doomed', kind: 'echo' } })).body;
    expect((await api.request('DELETE', `/agents/${doomed.id}`, { token: acme })).status).toBe(204);
    const audit = (await api.request<AuditList>('GET', '/audit', { token: acme })).body;
    expect(audit.items[0]).toMatchObject({ action: 'agent.deleted', target: doomed.id, tenant_id: 'acme' });
  });
});
