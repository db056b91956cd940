import { randomUUID } from 'node:crypto';

import type { Agent, RunEventV1 } from '@skreaver/contracts';
import { SkreaverClient, SkreaverError } from '@skreaver/sdk';
import type { FetchLike } from '@skreaver/sdk';
import { startModelStandIn, startTcpProxy } from '@skreaver/testing';
import type { ModelStandIn } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

type OpenApi = { paths: Record<string, Record<string, { operationId?: string }>> };

/**
 * Operations of /openapi.json the SDK does not call, each with its reason (reviewed: a new operation fails the
 * coverage test until the SDK calls it or it is listed here).
 */
const NOT_IN_SDK: Record<string, string> = {
  'GET /openapi.json': 'the document itself',
  'GET /docs': 'Swagger UI, for browsers',
  'GET /docs/{path}': 'Swagger UI assets',
  'GET /console': 'the web console, for browsers (it calls the API through this SDK)',
  'GET /console/config.json': 'the web console\'s settings (where ws-gateway is)',
  'GET /console/{path}': 'the web console files',
  'GET /metrics': 'Prometheus scrapes it, not clients',
};

/** SDK methods that are not REST calls of agent-api. */
const NOT_REST = ['agents.watch'];

const ANSWER = 'Every event reaches the SDK exactly once, even when the connection under it is cut in the middle. '.repeat(4);

/** Every seq once, from 1 to the last, in order. */
const seqs = (events: RunEventV1[]) => events.map((event) => event.seq);
const wholeLog = (events: RunEventV1[]) => events.map((_event, index) => index + 1);
const deltaText = (events: RunEventV1[]) => events.flatMap((event) => (event.type === 'message.delta' ? [event.data.text] : [])).join('');

describe('@skreaver/sdk against agent-api', () => {
  let api: BootedAgentApi;
  let model: ModelStandIn;
  let sdk: SkreaverClient;
  let agent: Agent;

  beforeAll(async () => {
    model = await startModelStandIn({
      chunkChars: 6,
      script: (request) => {
        const last = request.messages.at(-1);
        if (last?.role === 'tool') return { content: `Sunny in ${String(last.content)}` };
        const text = [...request.messages].reverse().find((message) => message.role === 'user')?.content ?? '';
        if (text.includes('weather')) return { tool_calls: [{ name: 'request_input', arguments: { prompt: 'Which city?', schema: { type: 'string' } } }] };
        return { content: text === 'long' ? ANSWER : `short answer to ${text}` };
      },
    });
    api = await bootAgentApi('sqlite', { SKREAVER_MESH_ENABLED: 'false', SKREAVER_LLM_BASE_URL: model.baseUrl, SKREAVER_LLM_MODEL: 'tiny' });
    sdk = new SkreaverClient({ baseUrl: api.url, apiKey: api.adminKey });
    agent = await sdk.agents.create({ name: 'sdk-agent', kind: 'llm', config: { tools: ['request_input'] } });
  });

  afterAll(async () => {
    await api?.close();
    await model?.close();
  });

  describe('drift between the SDK and the served OpenAPI document', () => {
    let document: OpenApi;
    /** `METHOD /template` of every REST call each SDK method made, by method name. */
    const calls = new Map<string, string[]>();

    const templateOf = (method: string, url: string) => {
      const { pathname } = new URL(url);
      const template = Object.keys(document.paths).find((candidate) => {
        const pattern = new RegExp(`^${candidate.replace(/\{[^}]+\}/g, '[^/]+')}$`);
        return pattern.test(pathname) && document.paths[candidate]?.[method.toLowerCase()] !== undefined;
      });
      return `${method} ${template ?? `${pathname} (not in the document)`}`;
    };

    beforeAll(async () => {
      document = (await api.request<OpenApi>('GET', '/openapi.json')).body;
      let current = '';
      // Every SDK method is called against a recording fetch that answers each request plausibly: a run's terminal
      // event for a stream, a token for the exchange, an empty object for the rest.
      const recording: FetchLike = async (url, init) => {
        const method = String(init.method);
        calls.set(current, [...(calls.get(current) ?? []), templateOf(method, url)]);
        if (url.includes('/auth/token')) return Response.json({ access_token: 't', token_type: 'Bearer', expires_in: 3600, expires_at: new Date().toISOString() });
        if ((init.headers as Record<string, string>)['accept'] === 'text/event-stream') {
          const event = { id: `${randomUUID()}:1`, seq: 1, type: 'run.completed', data: { output: null } };
          return new Response(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`, { headers: { 'content-type': 'text/event-stream', 'x-run-id': randomUUID() } });
        }
        return Response.json({});
      };
      const client = new SkreaverClient({ baseUrl: 'http://sdk.test', apiKey: 'sk_test', fetch: recording, gatewayUrl: 'http://gateway.test' });
      const invoke = async (name: string, call: () => unknown) => {
        current = name;
        const result = await call();
        if (result && typeof result === 'object' && Symbol.asyncIterator in result) for await (const _event of result as AsyncIterable<unknown>) void _event;
        current = '';
      };
      const record = client as unknown as Record<string, Record<string, (...args: unknown[]) => unknown>>;
      for (const namespace of Object.keys(client).filter((key) => key !== 'transport' && key !== 'options')) {
        for (const [name, method] of Object.entries(record[namespace] ?? {})) {
          if (typeof method !== 'function' || NOT_REST.includes(`${namespace}.${name}`)) continue;
          // Ids (and bodies) as strings, then an options object: enough for every method to send its request.
          const args = [...Array.from({ length: method.length }, (_value, index) => `${randomUUID()}-${index}`), { apiKey: 'sk_other' }];
          await invoke(`${namespace}.${name}`, () => method(...args));
        }
      }
      await invoke('runs.create stream', () => client.runs.create(randomUUID(), 'x', { stream: true }));
      await invoke('threads.run stream', () => client.threads.run(randomUUID(), 'x', { stream: true }));
    });

    it('should call only operations the document has, with their method and path', () => {
      const stray = [...calls.entries()].flatMap(([name, made]) => made.filter((call) => call.includes('(not in the document)')).map((call) => `${name}: ${call}`));
      expect(stray).toEqual([]);
      expect(calls.size).toBeGreaterThan(40);
    });

    it('should cover every operation of the document, or list it as excluded', () => {
      const covered = new Set([...calls.values()].flat());
      const operations = Object.entries(document.paths).flatMap(([template, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${template}`));
      expect(operations.filter((operation) => !covered.has(operation) && !(operation in NOT_IN_SDK))).toEqual([]);
      // An exclusion the document no longer has is stale.
      expect(Object.keys(NOT_IN_SDK).filter((operation) => !operations.includes(operation))).toEqual([]);
    });
  });

  it('should exchange the API key, create and run an agent with wait, and read the run back', async () => {
    const run = await sdk.runs.create(agent.id, 'hello', { wait: 10 });
    expect(run).toMatchObject({ agent_id: agent.id, status: 'completed', output: 'short answer to hello' });
    expect(await sdk.runs.get(run.id)).toMatchObject({ id: run.id, status: 'completed' });
    expect((await sdk.runs.listByAgent(agent.id, { limit: 5 })).items.map((item) => item.id)).toContain(run.id);
    expect((await sdk.runs.list({ agentId: agent.id, status: 'completed' })).items.map((item) => item.id)).toContain(run.id);
    const page = await sdk.events.list(run.id, { limit: 2 });
    expect(page.items.map((event) => event.seq)).toEqual([1, 2]);
    expect(page.next_after).toBe(page.items[1]?.id);
  });

  it('should page through runs with the cursor of the page before', async () => {
    const second = await sdk.runs.create(agent.id, 'again', { wait: 10 });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 50; pages += 1) {
      const page = await sdk.runs.listByAgent(agent.id, { limit: 1, cursor });
      seen.push(...page.items.map((item) => item.id));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[0]).toBe(second.id);
    expect(new Set(seen).size).toBe(seen.length);
    const firstPage = await sdk.runs.list({ agentId: agent.id, limit: 1 });
    const next = await sdk.runs.list({ agentId: agent.id, limit: 1, cursor: firstPage.next_cursor ?? undefined });
    expect(next.items[0]?.id).toBe(seen[1]);
  });

  it('should give the first run back for the same Idempotency-Key, and 422 for another body under it', async () => {
    const key = randomUUID();
    const first = await sdk.runs.create(agent.id, 'once', { idempotencyKey: key, wait: 10 });
    const again = await sdk.runs.create(agent.id, 'once', { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    const reused = await sdk.runs.create(agent.id, 'other', { idempotencyKey: key }).catch((error: unknown) => error);
    expect(reused).toBeInstanceOf(SkreaverError);
    expect(reused).toMatchObject({ status: 422, code: 'idempotency_key_reused', requestId: expect.any(String) });
  });

  it('should reject with typed errors: not_found, validation_failed with details, forbidden for a viewer', async () => {
    await expect(sdk.agents.get(randomUUID())).rejects.toMatchObject({ name: 'SkreaverError', status: 404, code: 'not_found', requestId: expect.stringMatching(/.+/) });
    const invalid = await sdk.agents.create({ name: '', kind: 'llm', config: {} }).catch((error: unknown) => error as SkreaverError);
    expect(invalid).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((invalid as SkreaverError).details).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })]));

    const viewerKey = await sdk.apiKeys.create({ name: 'sdk-viewer', role: 'viewer' });
    const viewer = new SkreaverClient({ baseUrl: api.url, apiKey: viewerKey.key });
    expect((await viewer.agents.get(agent.id)).id).toBe(agent.id);
    await expect(viewer.agents.create({ name: 'no', kind: 'llm', config: {} })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect((await sdk.apiKeys.list()).items.map((key) => key.id)).toContain(viewerKey.id);
    await sdk.apiKeys.revoke(viewerKey.id);
    await expect(viewer.agents.get(agent.id)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('should stream a run it starts, resuming after the TCP connection is cut, every event once, ending at run.completed', async () => {
    model.setChunkDelay(25);
    const proxy = await startTcpProxy(Number(new URL(api.url).port));
    try {
      const viaProxy = new SkreaverClient({ baseUrl: proxy.url, apiKey: api.adminKey });
      const stream = viaProxy.runs.create(agent.id, 'long', { stream: true, idempotencyKey: randomUUID() });
      const events: RunEventV1[] = [];
      let cuts = 0;
      for await (const event of stream) {
        events.push(event);
        // Cut at the third delta, and again at the first delta the resumed connection brings.
        const deltas = events.filter((seen) => seen.type === 'message.delta').length;
        if ((cuts === 0 && deltas === 3) || (cuts === 1 && stream.reconnects === 1 && event.type === 'message.delta')) {
          proxy.cut();
          cuts += 1;
        }
      }
      expect(cuts).toBe(2);
      expect(stream.reconnects).toBeGreaterThanOrEqual(2);
      expect(proxy.connections).toBeGreaterThanOrEqual(3);
      expect(seqs(events)).toEqual(wholeLog(events));
      expect(events.at(-1)).toMatchObject({ type: 'run.completed', data: { output: ANSWER } });
      expect(deltaText(events)).toBe(ANSWER);
      expect(events.every((event) => event.run_id === stream.runId)).toBe(true);
      // The same as the stored log.
      const log = await sdk.events.list(stream.runId as string, { limit: 1000 });
      expect(events.map((event) => event.id)).toEqual(log.items.map((event) => event.id));

      // Following it again after the end: the log from `after`, then the end.
      const rest: RunEventV1[] = [];
      for await (const event of sdk.runs.stream(stream.runId as string, { after: events[4]?.id })) rest.push(event);
      expect(rest.map((event) => event.id)).toEqual(events.slice(5).map((event) => event.id));
    } finally {
      model.setChunkDelay(0);
      await proxy.close();
    }
  });

  it('should stop a stream when its signal aborts, rejecting with the reason', async () => {
    model.setChunkDelay(20);
    try {
      const controller = new AbortController();
      const stream = sdk.runs.create(agent.id, 'long', { stream: true, signal: controller.signal });
      const seen: RunEventV1[] = [];
      const consumed = (async () => {
        for await (const event of stream) {
          seen.push(event);
          if (seen.length === 3) controller.abort(new Error('stop following'));
        }
      })();
      await expect(consumed).rejects.toThrow('stop following');
      expect(seen).toHaveLength(3);
      // The run goes on without its follower.
      const run = await sdk.runs.create(agent.id, 'after', { wait: 10 });
      expect(run.status).toBe('completed');
    } finally {
      model.setChunkDelay(0);
    }
  });

  it('should answer a run waiting for input with runs.resume, and refuse a second answer', async () => {
    const waiting = await sdk.runs.create(agent.id, 'what is the weather', { wait: 10 });
    expect(waiting).toMatchObject({ status: 'waiting_input', pending_inputs: [{ id: 'input_1' }] });
    const resumed = await sdk.runs.resume(waiting.id, { inputs: { input_1: 'Paris' } }, { idempotencyKey: randomUUID() });
    expect(resumed.id).toBe(waiting.id);
    const events: RunEventV1[] = [];
    for await (const event of sdk.runs.stream(waiting.id)) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', data: { output: 'Sunny in "Paris"' } });
    await expect(sdk.runs.resume(waiting.id, { inputs: { input_1: 'Rome' } })).rejects.toMatchObject({ status: 409, code: 'run_not_waiting' });
  });

  it('should hold a conversation in a thread: create, run with wait, history, update, list, delete', async () => {
    const thread = await sdk.threads.create({ agent_id: agent.id, metadata: { topic: 'sdk' } });
    const first = await sdk.threads.run(thread.id, 'first turn', { wait: 10 });
    expect(first).toMatchObject({ status: 'completed', output: 'short answer to first turn' });
    const history = await sdk.threads.history(thread.id);
    expect(history.items).toHaveLength(1);
    expect(await sdk.threads.update(thread.id, { metadata: { topic: 'changed' } })).toMatchObject({ id: thread.id, metadata: { topic: 'changed' } });
    expect((await sdk.threads.list({ agentId: agent.id })).items.map((item) => item.id)).toContain(thread.id);
    await sdk.threads.delete(thread.id);
    await expect(sdk.threads.get(thread.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('should put, read, list and delete memory; revoke its own token and go on with a fresh one', async () => {
    await sdk.memory.put(agent.id, 'prefs.colour', { value: 'teal' });
    expect(await sdk.memory.get(agent.id, 'prefs.colour')).toMatchObject({ key: 'prefs.colour', value: { value: 'teal' } });
    expect((await sdk.memory.list(agent.id, { prefix: 'prefs.' })).items.map((entry) => entry.key)).toEqual(['prefs.colour']);
    await sdk.memory.delete(agent.id, 'prefs.colour');
    await expect(sdk.memory.get(agent.id, 'prefs.colour')).rejects.toMatchObject({ status: 404 });

    await sdk.auth.revoke();
    expect((await sdk.agents.get(agent.id)).id).toBe(agent.id);
  });
});
