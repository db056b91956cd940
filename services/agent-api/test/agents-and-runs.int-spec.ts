import { Queues, Streams, streamKey } from '@skreaver/contracts';
import type { Agent, ApiErrorBody, Run, RunEventsPage } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';
import { StreamQueue, createRedis, type RedisClient } from '@skreaver/messaging';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

// Every call acts as the bootstrap admin; who may do what is the access-matrix spec's business.
let credentials: Record<string, string> = {};

async function json<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, {
    ...init,
    headers: { ...credentials, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, headers: response.headers };
}

describe.each(DATABASE_KINDS)('agent-api on %s', (kind) => {
  let api: BootedAgentApi;
  let redis: RedisClient;

  beforeAll(async () => {
    api = await bootAgentApi(kind);
    credentials = api.adminHeaders;
    redis = createRedis(api.redis.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await api?.close();
  });

  const createAgent = (body: unknown) => json<Agent>(`${api.url}/agents`, { method: 'POST', body: JSON.stringify(body) });

  it('should create, read and list agents', async () => {
    const created = await createAgent({ name: '  trimmed  ', kind: 'echo' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'trimmed', kind: 'echo', config: {}, status: 'idle', last_activity: null });

    const read = await json<Agent>(`${api.url}/agents/${created.body.id}`);
    expect(read.body).toEqual(created.body);

    const list = await json<{ items: Agent[] }>(`${api.url}/agents?limit=10`);
    expect(list.body.items.map((a) => a.id)).toContain(created.body.id);
  });

  it('should store a run, log run.queued as event 1 and enqueue exactly one job for it', async () => {
    const agent = (await createAgent({ name: 'queued', kind: 'echo' })).body;
    const accepted = await json<Run>(`${api.url}/agents/${agent.id}/runs`, { method: 'POST', body: JSON.stringify({ input: ['a', 1] }) });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ agent_id: agent.id, status: 'queued', input: ['a', 1], attempts: 0, source: 'api' });

    const stored = await json<Run>(`${api.url}/runs/${accepted.body.id}`);
    expect(stored.body).toEqual(accepted.body);

    const events = await json<RunEventsPage>(`${api.url}/runs/${accepted.body.id}/events`);
    expect(events.body.items).toEqual([
      expect.objectContaining({ id: `${accepted.body.id}:1`, type: 'run.queued', seq: 1, data: { input: ['a', 1] } }),
    ]);
    expect(await redis.xlen(streamKey(Streams.events, api.redis.prefix))).toBeGreaterThanOrEqual(1);

    // No coordinator here: the run's job waits on the run queue.
    const queue = new StreamQueue(Queues.runs, { connection: redis, keyPrefix: api.redis.prefix });
    expect(await queue.standing(accepted.body.id)).toBe('pending');
    const job = await redis.hget(`${queue.keys.jobs}${accepted.body.id}`, 'd');
    expect(JSON.parse(job ?? 'null')).toEqual({ run_id: accepted.body.id, agent_id: agent.id, tenant_id: 'default' });
  });

  it('should reject invalid bodies with validation_failed and field paths, and write nothing', async () => {
    const before = (await json<{ items: Agent[] }>(`${api.url}/agents?limit=500`)).body.items.length;
    for (const body of [{}, { name: '', kind: 'echo' }, { name: 'x', kind: 'echo', extra: 1 }, { name: 'x', kind: 'llm-9000' }, []]) {
      const response = await createAgent(body);
      expect(response.status).toBe(400);
      expect((response.body as unknown as ApiErrorBody).error).toBe('validation_failed');
      expect((response.body as unknown as ApiErrorBody).details).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String) })]));
    }
    const after = (await json<{ items: Agent[] }>(`${api.url}/agents?limit=500`)).body.items.length;
    expect(after).toBe(before);
  });

  it('should answer 404 for runs of unknown agents and unknown runs, and 400 for a foreign event id', async () => {
    const unknown = '11111111-1111-4111-8111-111111111111';
    expect((await json<ApiErrorBody>(`${api.url}/agents/${unknown}/runs`, { method: 'POST', body: '{"input":1}' })).status).toBe(404);
    expect((await json<ApiErrorBody>(`${api.url}/runs/${unknown}`)).body.error).toBe('not_found');

    const agent = (await createAgent({ name: 'events', kind: 'echo' })).body;
    const run = (await json<Run>(`${api.url}/agents/${agent.id}/runs`, { method: 'POST', body: '{"input":null}' })).body;
    const foreign = await json<ApiErrorBody>(`${api.url}/runs/${run.id}/events?after=${unknown}:1`);
    expect(foreign.status).toBe(400);
  });

  it('should map transport-level bad input to stable codes', async () => {
    const wrongType = await fetch(`${api.url}/agents`, { method: 'POST', headers: { ...credentials, 'content-type': 'text/plain' }, body: 'hi' });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as ApiErrorBody).error).toBe('unsupported_media_type');

    const tooLarge = await createAgent({ name: 'big', kind: 'echo', config: { blob: 'x'.repeat(2 * 1024 * 1024) } });
    expect(tooLarge.status).toBe(413);
    expect((tooLarge.body as unknown as ApiErrorBody).error).toBe('payload_too_large');
  });

  it('should report redis and the database in /ready', async () => {
    const ready = await json<{ status: string; checks: Record<string, { status: string }> }>(`${api.url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ redis: { status: 'up' }, database: { status: 'up' } });
  });
});
