import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Agent, ApiErrorBody, RedrivenRun, Run, RunEventsPage, RunList, ToolList } from '@skreaver/contracts';
import { RunRepository, createDataSource } from '@skreaver/persistence';
import { DATABASE_KINDS } from '@skreaver/testing';
import { nowIso } from '@skreaver/util';
import type { DataSource } from 'typeorm';

import { bootAgentApi } from './agent-api.harness';
import type { ApiResponse, BootedAgentApi, RequestOptions } from './agent-api.harness';

// GET /tools, plugin kinds checked at agent creation, and dead letters: GET /runs?status=failed and redrive.
describe.each(DATABASE_KINDS)('tools, plugin kinds and dead letters on %s', (kind) => {
  let api: BootedAgentApi;
  let dataSource: DataSource;
  let runs: RunRepository;
  let pluginDir: string;

  beforeAll(async () => {
    pluginDir = mkdtempSync(join(tmpdir(), 'skreaver-api-plugins-'));
    writeFileSync(
      join(pluginDir, 'shout.js'),
      `const { z } = require(${JSON.stringify(require.resolve('zod'))});
module.exports = [{ kind: 'shout', description: 'shouts', configSchema: z.strictObject({ suffix: z.string() }), run: async (input) => input }];
`,
    );
    api = await bootAgentApi(kind, { SKREAVER_AGENT_PLUGINS: join(pluginDir, 'shout.js') });
    // A coordinator's view of the same database, to fail runs as a coordinator does after their last attempt.
    dataSource = createDataSource({ databaseUrl: api.database.url, dataDir: api.database.dataDir, poolSize: 2, runMigrations: false });
    await dataSource.initialize();
    runs = new RunRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await api?.close();
    rmSync(pluginDir, { recursive: true, force: true });
  });

  const call = <T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> =>
    api.request<T>(method, path, { token: api.adminToken, ...options });

  async function newAgent(name: string): Promise<Agent> {
    const created = await call<Agent>('POST', '/agents', { body: { name, kind: 'echo', config: { delay_ms: 60_000 } } });
    expect(created.status).toBe(201);
    return created.body;
  }

  async function submit(agent: Agent, input: unknown): Promise<Run> {
    const submitted = await call<Run>('POST', `/agents/${agent.id}/runs`, { body: { input } });
    expect(submitted.status).toBe(202);
    return submitted.body;
  }

  /** What a coordinator does when a run's last attempt fails. */
  async function failForGood(run: Run): Promise<void> {
    await runs.markRunning(run.id, 3, nowIso());
    expect(await runs.markFailed(run.id, { code: 'agent_error', message: 'model overloaded' }, nowIso())).toBe(true);
  }

  it('should list every tool with its input JSON Schema, to viewers too', async () => {
    const viewer = await api.tokenFor((await api.createKey('viewer')).key);
    const listed = await api.request<ToolList>('GET', '/tools', { token: viewer });

    expect(listed.status).toBe(200);
    expect(listed.body.items.map((tool) => tool.name)).toEqual(['http_request', 'json', 'math', 'memory_get', 'memory_put', 'mesh_request', 'mesh_send', 'request_input', 'sleep', 'text', 'time']);
    expect(listed.body.items.find((tool) => tool.name === 'sleep')).toEqual({
      name: 'sleep',
      description: expect.stringContaining('Waits'),
      input_schema: expect.objectContaining({ type: 'object', properties: { ms: expect.objectContaining({ type: 'integer', maximum: 60_000 }) } }),
    });
    expect((await api.request('GET', '/tools')).status).toBe(401);
  });

  it("should create agents of a plugin kind, checking their config against the plugin's schema", async () => {
    expect((await call<Agent>('POST', '/agents', { body: { name: 'loud', kind: 'shout', config: { suffix: '!' } } })).status).toBe(201);

    const bad = await call<ApiErrorBody>('POST', '/agents', { body: { name: 'loud', kind: 'shout', config: { suffix: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([expect.objectContaining({ path: 'config.suffix' })]);

    const unknown = await call<ApiErrorBody>('POST', '/agents', { body: { name: 'x', kind: 'summarizer' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: 'validation_failed', details: [{ path: 'kind', message: expect.stringContaining('no agent kind "summarizer"') }] });
  });

  it('should check the shared limits section of any agent config', async () => {
    const bad = await call<ApiErrorBody>('POST', '/agents', { body: { name: 'x', kind: 'echo', config: { limits: { timeout_ms: -5 } } } });

    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([expect.objectContaining({ path: 'config.limits.timeout_ms' })]);
  });

  it("should list the tenant's runs newest first, filtered by status (failed = dead letters), agent and limit", async () => {
    const first = await newAgent('dead-letters-1');
    const second = await newAgent('dead-letters-2');
    const a = await submit(first, 'a');
    const b = await submit(second, 'b');
    const c = await submit(second, 'c');
    await failForGood(a);
    await failForGood(c);

    const all = await call<RunList>('GET', '/runs?limit=500');
    expect(all.status).toBe(200);
    const ours = all.body.items.filter((run) => [a.id, b.id, c.id].includes(run.id)).map((run) => run.id);
    expect(ours).toEqual([c.id, b.id, a.id]);

    const dead = (await call<RunList>('GET', '/runs?status=failed')).body.items;
    expect(dead.map((run) => run.id)).toEqual(expect.arrayContaining([a.id, c.id]));
    expect(dead.every((run) => run.status === 'failed')).toBe(true);
    expect((await call<RunList>('GET', '/runs?status=dead')).body.items.map((run) => run.id)).toEqual(dead.map((run) => run.id));

    const deadOfSecond = (await call<RunList>('GET', `/runs?status=failed&agent_id=${second.id}`)).body.items;
    expect(deadOfSecond.map((run) => [run.id, run.error])).toEqual([[c.id, { code: 'agent_error', message: 'model overloaded' }]]);
    expect((await call<RunList>('GET', '/runs?limit=1')).body.items).toHaveLength(1);

    for (const query of ['status=lost', 'limit=0', 'agent_id=nope', 'colour=red']) {
      expect([query, (await call('GET', `/runs?${query}`)).status]).toEqual([query, 400]);
    }
  });

  it('should redrive a dead letter as a new run with its input, linked to it, leaving the failed run as it was', async () => {
    const agent = await newAgent('redrive');
    const failed = await submit(agent, { order: 42 });
    await failForGood(failed);

    const redriven = await call<RedrivenRun>('POST', `/runs/${failed.id}/redrive`);

    expect(redriven.status).toBe(202);
    expect(redriven.body).toMatchObject({ agent_id: agent.id, input: { order: 42 }, status: 'queued', redriven_from: failed.id, attempts: 0 });
    expect(redriven.body.id).not.toBe(failed.id);
    const events = (await call<RunEventsPage>('GET', `/runs/${redriven.body.id}/events`)).body.items;
    expect(events[0]).toMatchObject({ type: 'run.queued', data: { input: { order: 42 }, redriven_from: failed.id } });
    expect((await call<Run>('GET', `/runs/${failed.id}`)).body).toMatchObject({ status: 'failed', error: { code: 'agent_error' } });
  });

  it('should refuse to redrive a run that did not fail, and not find another tenant\'s run', async () => {
    const agent = await newAgent('not-dead');
    const queued = await submit(agent, 1);

    const conflict = await call<ApiErrorBody>('POST', `/runs/${queued.id}/redrive`);
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: 'conflict', message: expect.stringContaining('only failed runs can be redriven') });

    await failForGood(queued);
    const acme = await api.tokenFor((await api.createKey('admin', { tenant_id: 'acme' })).key);
    expect((await api.request('POST', `/runs/${queued.id}/redrive`, { token: acme })).status).toBe(404);
    expect((await api.request<RunList>('GET', '/runs?status=failed', { token: acme })).body.items).toEqual([]);
    const viewer = await api.tokenFor((await api.createKey('viewer')).key);
    expect((await api.request('POST', `/runs/${queued.id}/redrive`, { token: viewer })).status).toBe(403);
  });
});
