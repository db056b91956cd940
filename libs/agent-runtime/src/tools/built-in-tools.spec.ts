import type { JsonValue } from '@skreaver/contracts';

import { unavailableMemoryStore, agentMemory } from '../memory-store';
import { GuardedHttpClient } from '../network/guarded-http.client';
import type { HttpClient, HttpRequest } from '../network/guarded-http.client';
import { NetworkPolicy } from '../network/network-policy';
import { builtInTools } from './built-in-tools';
import { ToolError } from './tool-definition';
import type { ToolContext } from './tool-definition';
import { ToolRegistry } from './tool-registry';
import { formatAtOffset } from './time.tool';

const registry = new ToolRegistry(builtInTools());
const context: ToolContext = {
  tenantId: 'default',
  agentId: 'agent-1',
  runId: 'run-1',
  signal: new AbortController().signal,
  memory: agentMemory(unavailableMemoryStore, 'default', 'agent-1'),
  http: new GuardedHttpClient(NetworkPolicy.create(), { maxTimeoutMs: 1_000, maxResponseBytes: 1_000 }),
};

/** Runs a built-in tool the way the toolbox does: input through the tool's schema first. */
async function run(name: string, input: unknown): Promise<JsonValue> {
  const tool = registry.get(name);
  if (!tool) throw new Error(`no tool ${name}`);
  return tool.run(tool.inputSchema.parse(input), context);
}

async function failure(name: string, input: unknown): Promise<ToolError> {
  try {
    await run(name, input);
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
  throw new Error('expected a ToolError');
}

describe('built-in tools', () => {
  it('should list every tool with a description and the JSON schema of its input', () => {
    const described = registry.describe();

    expect(described.map((tool) => tool.name)).toEqual(['http_request', 'json', 'math', 'memory_get', 'memory_put', 'mesh_request', 'mesh_send', 'request_input', 'sleep', 'text', 'time']);
    for (const tool of described) {
      expect(tool.description.length).toBeGreaterThan(10);
      expect(tool.input_schema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema' });
    }
    expect(described.find((tool) => tool.name === 'math')?.input_schema).toMatchObject({
      type: 'object',
      properties: { expression: { type: 'string', maxLength: 1000 } },
      required: ['expression'],
      additionalProperties: false,
    });
    // Defaults make a field optional for callers.
    expect(described.find((tool) => tool.name === 'http_request')?.input_schema).toMatchObject({ required: ['url'] });
  });

  it('should refuse two tools with one name', () => {
    const [first] = builtInTools();
    expect(() => new ToolRegistry(first ? [first, first] : [])).toThrow('is defined twice');
  });

  describe('math', () => {
    it('should evaluate', async () => {
      expect(await run('math', { expression: '(1 + 2) * 3 ^ 2' })).toEqual({ value: 27 });
    });

    it('should fail with invalid_expression', async () => {
      expect(await failure('math', { expression: '1 / 0' })).toMatchObject({ code: 'invalid_expression', message: expect.stringContaining('division by zero') });
    });
  });

  describe('json', () => {
    it('should parse text', async () => {
      expect(await run('json', { op: 'parse', text: '{"a":[1,{"b":"c"}]}' })).toEqual({ value: { a: [1, { b: 'c' }] } });
    });

    it('should fail to parse what is not JSON with invalid_json', async () => {
      expect((await failure('json', { op: 'parse', text: '{oops' })).code).toBe('invalid_json');
    });

    it('should get by pointer and by path', async () => {
      const value = { a: [1, { b: 'c' }] };
      expect(await run('json', { op: 'pointer', value, pointer: '/a/1/b' })).toEqual({ value: 'c' });
      expect(await run('json', { op: 'path', value, path: 'a[1].b' })).toEqual({ value: 'c' });
      expect((await failure('json', { op: 'path', value, path: 'a[7]' })).code).toBe('not_found');
    });

    it('should stringify', async () => {
      expect(await run('json', { op: 'stringify', value: { a: 1 } })).toEqual({ text: '{"a":1}' });
    });
  });

  describe('text', () => {
    it.each([
      [{ op: 'upper', text: 'Ab' }, { text: 'AB' }],
      [{ op: 'lower', text: 'Ab' }, { text: 'ab' }],
      [{ op: 'trim', text: '  ab \n' }, { text: 'ab' }],
      [{ op: 'search', text: 'a-b-A', query: 'a' }, { found: true, count: 1, positions: [0] }],
      [{ op: 'search', text: 'a-b-A', query: 'a', ignore_case: true }, { found: true, count: 2, positions: [0, 4] }],
      [{ op: 'search', text: 'abc', query: '.*' }, { found: false, count: 0, positions: [] }],
      [{ op: 'replace', text: 'a.b.c', search: '.', replacement: '/' }, { text: 'a/b/c' }],
      [{ op: 'split', text: 'a,b,c', separator: ',' }, { parts: ['a', 'b', 'c'] }],
      [{ op: 'split', text: 'a,b,c', separator: ',', limit: 2 }, { parts: ['a', 'b'] }],
      [{ op: 'template', template: 'Hi {{name}}, you are {{ age }}', values: { name: 'Ada', age: 36 } }, { text: 'Hi Ada, you are 36' }],
    ])('should do %j', async (input, expected) => {
      expect(await run('text', input)).toEqual(expected);
    });

    it('should fail a template placeholder without a value with template_error', async () => {
      expect((await failure('text', { op: 'template', template: '{{missing}}', values: {} })).code).toBe('template_error');
    });
  });

  describe('time', () => {
    it('should answer now in UTC by default', async () => {
      const before = Date.now();
      const result = (await run('time', {})) as { iso: string; epoch_ms: number; epoch_s: number; utc_offset: string };

      expect(result.iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(result.epoch_ms).toBeGreaterThanOrEqual(before);
      expect(result.epoch_s).toBe(Math.floor(result.epoch_ms / 1000));
      expect(result.utc_offset).toBe('+00:00');
    });

    it.each([
      ['+05:30', '2025-01-01T05:30:00.000+05:30'],
      ['-08:00', '2024-12-31T16:00:00.000-08:00'],
    ])('should format at the offset %s', (offset, expected) => {
      expect(formatAtOffset(Date.UTC(2025, 0, 1), offset)).toBe(expected);
    });

    it.each(['+5', 'UTC', '+15:00', '+01:60'])('should refuse the offset %j', (utc_offset) => {
      expect(registry.get('time')?.inputSchema.safeParse({ utc_offset }).success).toBe(false);
    });
  });

  describe('sleep', () => {
    it('should sleep', async () => {
      expect(await run('sleep', { ms: 5 })).toEqual({ slept_ms: 5 });
    });

    it.each([-1, 60_001, 1.5])('should refuse %d ms', (ms) => {
      expect(registry.get('sleep')?.inputSchema.safeParse({ ms }).success).toBe(false);
    });
  });

  describe('http_request', () => {
    async function sentHeaders(input: Record<string, JsonValue>, idempotencyKey?: string): Promise<Readonly<Record<string, string>> | undefined> {
      const sent: HttpRequest[] = [];
      const http: HttpClient = {
        async request(request) {
          sent.push(request);
          return { status: 204, headers: {}, body: Buffer.alloc(0), url: request.url, redirects: 0 };
        },
      };
      const tool = registry.get('http_request');
      if (!tool) throw new Error('no http_request');
      await tool.run(tool.inputSchema.parse(input), { ...context, http, idempotencyKey });
      return sent[0]?.headers;
    }

    it("should send the call's journal key as Idempotency-Key", async () => {
      expect(await sentHeaders({ url: 'https://example.test/', method: 'POST', body: { json: 1 } }, 'run-1:3')).toEqual({
        'idempotency-key': 'run-1:3',
        'content-type': 'application/json',
      });
    });

    it('should keep an Idempotency-Key the input sets, and send none without a key', async () => {
      expect(await sentHeaders({ url: 'https://example.test/', headers: { 'Idempotency-Key': 'mine' } }, 'run-1:3')).toEqual({ 'Idempotency-Key': 'mine' });
      expect(await sentHeaders({ url: 'https://example.test/' })).toEqual({});
    });
  });

  describe('memory', () => {
    it.each(['', ' key', 'a/b', 'x'.repeat(257)])('should refuse the key %j', (key) => {
      expect(registry.get('memory_get')?.inputSchema.safeParse({ key }).success).toBe(false);
    });
  });
});
