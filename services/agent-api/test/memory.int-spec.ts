import type { Agent, ApiErrorBody, JsonValue, MemoryEntry, MemoryPage } from '@skreaver/contracts';
import { AgentMemoryRepository } from '@skreaver/persistence';
import { DATABASE_KINDS } from '@skreaver/testing';
import { sleep } from '@skreaver/util';

import { MemorySweeper } from '../src/memory/memory-sweeper';
import { bootAgentApi } from './agent-api.harness';
import type { ApiResponse, BootedAgentApi, RequestOptions } from './agent-api.harness';

// Low, so the key budget is exhausted in a few writes; each test uses agents of its own.
const MAX_KEYS = 8;
const DEFAULT_MAX_VALUE_BYTES = 65_536;
const UNKNOWN_AGENT = '00000000-0000-4000-8000-000000000000';

/** A JSON string value whose JSON text is exactly `bytes` long (the quotes count). */
function stringOfJsonSize(bytes: number): string {
  return 'x'.repeat(bytes - 2);
}

describe.each(DATABASE_KINDS)('agent memory over HTTP on %s', (kind) => {
  let api: BootedAgentApi;

  beforeAll(async () => {
    // The memory config reads the process environment when the module is built, i.e. during the boot.
    const saved = process.env['SKREAVER_MEMORY_MAX_KEYS'];
    process.env['SKREAVER_MEMORY_MAX_KEYS'] = String(MAX_KEYS);
    try {
      api = await bootAgentApi(kind);
    } finally {
      if (saved === undefined) delete process.env['SKREAVER_MEMORY_MAX_KEYS'];
      else process.env['SKREAVER_MEMORY_MAX_KEYS'] = saved;
    }
  });

  afterAll(async () => {
    await api?.close();
  });

  const call = <T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> =>
    api.request<T>(method, path, { token: api.adminToken, ...options });

  async function newAgent(): Promise<string> {
    const created = await call<Agent>('POST', '/agents', { body: { name: 'memory-bot', kind: 'echo' } });
    expect(created.status).toBe(201);
    return created.body.id;
  }

  const entryPath = (agentId: string, key: string) => `/agents/${agentId}/memory/${encodeURIComponent(key)}`;
  const put = (agentId: string, key: string, body: Record<string, unknown>) => call<MemoryEntry>('PUT', entryPath(agentId, key), { body });
  const get = (agentId: string, key: string) => call<MemoryEntry>('GET', entryPath(agentId, key));
  const list = (agentId: string, query = '') => call<MemoryPage>('GET', `/agents/${agentId}/memory${query}`);
  const errorOf = (response: ApiResponse<unknown>) => response.body as ApiErrorBody;

  it('should create, read, list and delete entries holding any JSON value', async () => {
    const agentId = await newAgent();
    const values: Record<string, JsonValue> = {
      'profile:1': { name: 'Zoë', tags: ['a', 'b'], nested: { deep: [1, { x: null }] }, ok: true },
      list: [1, 'two', [3], { four: false }],
      text: 'héllo wörld — 日本語 😀 "quoted" \\ back\nslash',
      number: -12.5,
      yes: true,
      no: false,
      nothing: null,
    };

    for (const [key, value] of Object.entries(values)) {
      const stored = await put(agentId, key, { value });
      expect(stored.status).toBe(200);
      expect(stored.body).toEqual({
        key,
        value,
        size_bytes: Buffer.byteLength(JSON.stringify(value)),
        created_at: expect.stringMatching(/Z$/),
        updated_at: stored.body.created_at,
        expires_at: null,
      });
      await expect(get(agentId, key)).resolves.toMatchObject({ status: 200, body: stored.body });
    }

    const page = await list(agentId);
    expect(page.status).toBe(200);
    expect(page.body.items.map((entry) => entry.key)).toEqual(['list', 'no', 'nothing', 'number', 'profile:1', 'text', 'yes']);
    expect(page.body.next_after).toBeNull();

    const deleted = await call('DELETE', entryPath(agentId, 'text'));
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    const gone = await get(agentId, 'text');
    expect(gone.status).toBe(404);
    expect(errorOf(gone).error).toBe('not_found');
    expect((await call('DELETE', entryPath(agentId, 'text'))).status).toBe(404);
  });

  it('should accept keys up to the 256-character limit in the path', async () => {
    const agentId = await newAgent();
    const key = `k${'x'.repeat(255)}`;
    expect((await put(agentId, key, { value: 1 })).status).toBe(200);
    expect((await call<MemoryEntry>('GET', entryPath(agentId, key))).body.key).toBe(key);
    expect((await put(agentId, `${key}x`, { value: 1 })).status).toBe(400);
  });

  it('should keep created_at and replace value and TTL on a second PUT', async () => {
    const agentId = await newAgent();
    const first = (await put(agentId, 'counter', { value: 1, ttl_seconds: 3600 })).body;
    expect(first.expires_at).not.toBeNull();
    await sleep(5);

    const second = await put(agentId, 'counter', { value: { count: 2 } });

    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ value: { count: 2 }, created_at: first.created_at, expires_at: null });
    expect(second.body.updated_at > first.updated_at).toBe(true);
  });

  it('should list by literal prefix, in key order, page by page', async () => {
    const agentId = await newAgent();
    for (const key of ['user_1', 'user_2', 'userX1', 'user.3', 'other']) await put(agentId, key, { value: key });
    const keysOf = (page: ApiResponse<MemoryPage>) => page.body.items.map((entry) => entry.key);

    expect(keysOf(await list(agentId, '?prefix=user_'))).toEqual(['user_1', 'user_2']);
    expect(keysOf(await list(agentId, `?prefix=${encodeURIComponent('user%')}`))).toEqual([]);
    expect(keysOf(await list(agentId, `?prefix=${encodeURIComponent('%')}`))).toEqual([]);
    expect(keysOf(await list(agentId, '?prefix=USER'))).toEqual([]);

    // Bytewise order: '.' (0x2e) < 'X' (0x58) < '_' (0x5f).
    const first = await list(agentId, '?prefix=user&limit=2');
    expect(keysOf(first)).toEqual(['user.3', 'userX1']);
    expect(first.body.next_after).toBe('userX1');
    const second = await list(agentId, '?prefix=user&limit=2&after=userX1');
    expect(keysOf(second)).toEqual(['user_1', 'user_2']);
    expect(second.body.next_after).toBeNull();
  });

  it('should hide and purge expired entries, and stop counting them against the key budget', async () => {
    const agentId = await newAgent();
    const repository = api.app.get(AgentMemoryRepository);
    const kept = Array.from({ length: MAX_KEYS - 3 }, (_, index) => `keep-${index}`);
    for (const key of kept) await put(agentId, key, { value: key });
    for (const key of ['ttl-read', 'ttl-swept', 'ttl-listed']) {
      expect((await put(agentId, key, { value: key, ttl_seconds: 1 })).body.expires_at).not.toBeNull();
    }
    const full = await put(agentId, 'one-too-many', { value: 1 });
    expect(full.status).toBe(409);
    expect(errorOf(full)).toMatchObject({ error: 'memory_full', details: { max_keys: MAX_KEYS } });
    // Replacing a key the agent holds adds nothing, so it is allowed at the limit.
    expect((await put(agentId, 'keep-0', { value: 'again' })).status).toBe(200);
    expect((await get(agentId, 'ttl-read')).status).toBe(200);

    await sleep(1_200);

    expect((await get(agentId, 'ttl-read')).status).toBe(404);
    await expect(repository.get('default', agentId, 'ttl-read')).resolves.toBeNull();
    expect((await call('DELETE', entryPath(agentId, 'ttl-listed'))).status).toBe(404);
    expect((await list(agentId)).body.items.map((entry) => entry.key)).toEqual(kept);
    await expect(repository.get('default', agentId, 'ttl-swept')).resolves.not.toBeNull();
    await expect(api.app.get(MemorySweeper).sweep()).resolves.toBeGreaterThanOrEqual(1);
    await expect(repository.get('default', agentId, 'ttl-swept')).resolves.toBeNull();
    expect((await put(agentId, 'one-more', { value: 1 })).status).toBe(200);
  });

  it('should accept a value of exactly the size limit and refuse one byte more with 413', async () => {
    const agentId = await newAgent();

    const atLimit = await put(agentId, 'big', { value: stringOfJsonSize(DEFAULT_MAX_VALUE_BYTES) });
    expect(atLimit.status).toBe(200);
    expect(atLimit.body.size_bytes).toBe(DEFAULT_MAX_VALUE_BYTES);

    // Multi-byte characters count as their UTF-8 bytes: 'é' is two.
    const overLimit = await put(agentId, 'big', { value: `${stringOfJsonSize(DEFAULT_MAX_VALUE_BYTES - 1)}é` });
    expect(overLimit.status).toBe(413);
    expect(errorOf(overLimit)).toMatchObject({
      error: 'memory_value_too_large',
      details: { size_bytes: DEFAULT_MAX_VALUE_BYTES + 1, max_bytes: DEFAULT_MAX_VALUE_BYTES },
    });
    expect((await get(agentId, 'big')).body.size_bytes).toBe(DEFAULT_MAX_VALUE_BYTES);
  });

  it.each([
    ['a key starting with a dash', 'GET', '-starts-with-dash'],
    ['a key with a space', 'PUT', 'has space'],
    ['a key with a slash', 'PUT', 'a/b'],
    ['a non-ASCII key', 'DELETE', 'clé'],
    ['a key with a star', 'GET', 'a*b'],
  ])('should answer 400 with the path key for %s', async (_label, method, key) => {
    const agentId = await newAgent();

    const response = await call(method, entryPath(agentId, key), method === 'PUT' ? { body: { value: 1 } } : {});

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatchObject({ error: 'validation_failed', details: [expect.objectContaining({ path: 'key' })] });
  });

  it.each([
    ['a missing value', {}, 'value'],
    ['a TTL of zero', { value: 1, ttl_seconds: 0 }, 'ttl_seconds'],
    ['a fractional TTL', { value: 1, ttl_seconds: 1.5 }, 'ttl_seconds'],
    ['a TTL over a year', { value: 1, ttl_seconds: 31_536_001 }, 'ttl_seconds'],
    ['an unknown field', { value: 1, ttl: 5 }, '(root)'],
  ])('should answer 400 for a body with %s', async (_label, body, path) => {
    const response = await put(await newAgent(), 'k', body);

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatchObject({ error: 'validation_failed', details: [expect.objectContaining({ path })] });
  });

  it.each([
    ['?after=-x', 'after'],
    ['?limit=0', 'limit'],
    ['?limit=1001', 'limit'],
    ['?prefix=a%00', 'prefix'],
    ['?cursor=abc', '(root)'],
  ])('should answer 400 for the list query %s', async (query, path) => {
    const response = await list(await newAgent(), query);

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatchObject({ error: 'validation_failed', details: [expect.objectContaining({ path })] });
  });

  it('should answer 404 not_found on every route for an unknown agent', async () => {
    for (const [method, path, body] of [
      ['GET', `/agents/${UNKNOWN_AGENT}/memory`, undefined],
      ['GET', entryPath(UNKNOWN_AGENT, 'k'), undefined],
      ['PUT', entryPath(UNKNOWN_AGENT, 'k'), { value: 1 }],
      ['DELETE', entryPath(UNKNOWN_AGENT, 'k'), undefined],
    ] as const) {
      const response = await call(method, path, { body });
      expect([method, response.status, errorOf(response).error]).toEqual([method, 404, 'not_found']);
    }
  });

  it("should remove an agent's memory when the agent is deleted", async () => {
    const agentId = await newAgent();
    await put(agentId, 'k1', { value: 1 });
    await put(agentId, 'k2', { value: 2, ttl_seconds: 60 });

    expect((await call('DELETE', `/agents/${agentId}`)).status).toBe(204);

    const repository = api.app.get(AgentMemoryRepository);
    await expect(repository.get('default', agentId, 'k1')).resolves.toBeNull();
    await expect(repository.get('default', agentId, 'k2')).resolves.toBeNull();
  });
});
