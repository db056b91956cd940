import type { JsonValue } from '@skreaver/contracts';
import {
  AgentRegistry,
  AgentRunner,
  DEFAULT_RUN_LIMITS,
  NetworkPolicy,
  defineAgent,
  sendOverNode,
} from '../src';
import type { HopSender, NetworkPolicyOptions, PinnedHop, ToolResult } from '../src';
import { z } from 'zod';

import { json, startLocalHttpServer } from './local-http-server';
import type { LocalHttpServer } from './local-http-server';

// The http_request tool against a real server on 127.0.0.1. Every hop goes through a recording sender, so the SSRF
// tests can assert that a refused address was never connected to: the refusal happens at the policy check.
describe('http_request tool', () => {
  let server: LocalHttpServer;
  let hops: PinnedHop[];

  const recording: HopSender = (hop, signal, maxBytes) => {
    hops.push(hop);
    // Belt and braces: whatever the policy says, this test never sends traffic off the loopback interface.
    if (hop.address !== '127.0.0.1' && hop.address !== '::1') return Promise.reject(new Error(`test refuses to connect to ${hop.address}`));
    return sendOverNode(hop, signal, maxBytes);
  };

  /** Calls http_request once through a runner under `policy`; resolves with the tool result. */
  async function request(input: Record<string, JsonValue>, policy: NetworkPolicyOptions = {}, options: { signal?: AbortSignal; resolve?: (host: string) => Promise<string[]> } = {}): Promise<ToolResult> {
    let settle: (result: ToolResult) => void = () => undefined;
    const called = new Promise<ToolResult>((resolve) => (settle = resolve));
    const caller = defineAgent({
      kind: 'caller',
      description: 'calls http_request once',
      configSchema: z.object({}),
      async run(_input, context) {
        settle(await context.tools.call('http_request', input));
        return null;
      },
    });
    const runner = new AgentRunner({
      registry: new AgentRegistry([caller]),
      network: NetworkPolicy.create(policy),
      limits: DEFAULT_RUN_LIMITS,
      http: { maxTimeoutMs: 2_000, maxResponseBytes: 64 * 1024, send: recording, ...(options.resolve ? { resolve: options.resolve } : {}) },
    });
    await runner
      .run({ agentId: 'a', runId: 'r', tenantId: 't', attempt: 1, kind: 'caller', config: {}, input: null, signal: options.signal ?? new AbortController().signal })
      .catch(() => undefined);
    // A cancelled run ends before its tool call does; the call still settles (aborted) right after.
    return called;
  }

  const LOOPBACK: NetworkPolicyOptions = { allowedNetworks: ['127.0.0.1'] };

  beforeAll(async () => {
    server = await startLocalHttpServer();
    server.route('/json', (req, res) => json(res, 200, { method: req.method, echoed: req.body, header: req.headers['x-test'] ?? null }));
    server.route('/text', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words'));
    server.route('/big', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(200_000)));
    server.route('/slow', async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      res.end('late');
    });
    server.route('/fail', (_req, res) => json(res, 503, { error: 'down' }));
    server.route('/hop', (req, res) => res.writeHead(302, { location: `/json?from=${encodeURIComponent(req.url)}` }).end());
    server.route('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
    server.route('/see-other', (_req, res) => res.writeHead(303, { location: '/json' }).end());
    server.route('/host', (req, res) => json(res, 200, { host: req.headers.host ?? null }));
    for (const [path, target] of Object.entries({
      '/to-private': 'http://10.0.0.1/admin',
      '/to-metadata': 'http://169.254.169.254/latest/meta-data/',
      '/to-ipv6-loopback': 'http://[::1]:1/',
      '/to-mapped': 'http://[::ffff:a9fe:a9fe]/',
    })) {
      server.route(path, (_req, res) => res.writeHead(307, { location: target }).end());
    }
  });

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(() => {
    hops = [];
  });

  describe('refused by default (SSRF), before any connection', () => {
    it.each([
      ['loopback IPv4', 'http://127.0.0.1:9/', 'loopback'],
      ['loopback IPv6', 'http://[::1]:9/', 'loopback'],
      ['10/8', 'http://10.0.0.1/', 'private network'],
      ['172.16/12', 'http://172.16.0.1/', 'private network'],
      ['192.168/16', 'http://192.168.1.1/', 'private network'],
      ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/', 'link-local'],
      ['a host name resolving to loopback', 'http://localhost:9/', 'loopback'],
      ['0.0.0.0', 'http://0.0.0.0:9/', 'unspecified'],
      ['CGNAT 100.64/10', 'http://100.64.0.1/', 'carrier-grade NAT'],
      ['unique-local fc00::/7', 'http://[fd00::1]/', 'unique-local'],
      ['an IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]:9/', 'loopback'],
      ['an IPv4-mapped metadata address', 'http://[::ffff:169.254.169.254]/', 'link-local'],
      ['loopback written as a decimal integer', 'http://2130706433:9/', 'loopback'],
      ['loopback written in hex', 'http://0x7f.0.0.1:9/', 'loopback'],
    ])('should refuse %s', async (_label, url, reason) => {
      const result = await request({ url });

      expect(result).toMatchObject({ ok: false, error: { code: 'address_refused', message: expect.stringContaining(reason) } });
      expect(result.ok ? '' : result.error.message).toMatch(/^refused to connect to /);
      expect(hops).toEqual([]);
    });

    it.each([
      ['a private address', '/to-private', '10.0.0.1'],
      ['the metadata address', '/to-metadata', '169.254.169.254'],
      ['IPv6 loopback', '/to-ipv6-loopback', '::1'],
      ['an IPv4-mapped metadata address', '/to-mapped', 'link-local'],
    ])('should refuse a redirect from an allowed server to %s', async (_label, path, shown) => {
      const result = await request({ url: `${server.url}${path}` }, LOOPBACK);

      expect(result).toMatchObject({ ok: false, error: { code: 'address_refused', message: expect.stringContaining(shown) } });
      // Only the allowed server was ever connected to.
      expect(hops.map((hop) => hop.address)).toEqual(['127.0.0.1']);
    });

    it('should refuse a name that resolves to a public and a private address (no picking the public one)', async () => {
      const result = await request({ url: 'http://mixed.example/' }, {}, { resolve: async () => ['93.184.216.34', '10.1.2.3'] });

      expect(result).toMatchObject({ ok: false, error: { code: 'address_refused', message: expect.stringContaining('mixed.example (10.1.2.3)') } });
      expect(hops).toEqual([]);
    });

    it('should refuse a host on the deny list, and one missing from the allow list', async () => {
      expect(await request({ url: `${server.url}/json` }, { ...LOOPBACK, denyDomains: ['127.0.0.1'] })).toMatchObject({ ok: false, error: { code: 'domain_refused' } });
      expect(await request({ url: `${server.url}/json` }, { ...LOOPBACK, allowDomains: ['example.com'] })).toMatchObject({ ok: false, error: { code: 'domain_refused' } });
      expect(hops).toEqual([]);
    });

    it('should refuse other schemes', async () => {
      expect(await request({ url: 'file:///etc/passwd' })).toMatchObject({ ok: false, error: { code: 'invalid_url' } });
    });
  });

  describe('allowed by configuration', () => {
    it('should GET JSON and parse it', async () => {
      const result = await request({ url: `${server.url}/json`, headers: { 'X-Test': 'yes' } }, LOOPBACK);

      expect(result).toEqual({
        ok: true,
        result: expect.objectContaining({ status: 200, ok: true, redirects: 0, body: { method: 'GET', echoed: '', header: 'yes' } }),
      });
    });

    it('should allow loopback with SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS semantics', async () => {
      expect(await request({ url: `${server.url}/text` }, { allowPrivateNetworks: true })).toMatchObject({ ok: true, result: { body: 'plain words' } });
    });

    it('should POST a JSON body', async () => {
      const result = await request({ url: `${server.url}/json`, method: 'POST', body: { json: { a: 1 } } }, LOOPBACK);

      expect(result).toMatchObject({ ok: true, result: { body: { method: 'POST', echoed: '{"a":1}' } } });
      expect(server.requests.at(-1)?.headers['content-type']).toBe('application/json');
    });

    it('should give an error status as a result, not a failure', async () => {
      expect(await request({ url: `${server.url}/fail` }, LOOPBACK)).toMatchObject({ ok: true, result: { status: 503, ok: false, body: { error: 'down' } } });
    });

    it('should follow redirects, checking each hop, and turn a 303 POST into a GET', async () => {
      expect(await request({ url: `${server.url}/hop` }, LOOPBACK)).toMatchObject({ ok: true, result: { status: 200, redirects: 1, url: expect.stringContaining('/json?from=') } });
      expect(await request({ url: `${server.url}/see-other`, method: 'POST', body: 'x' }, LOOPBACK)).toMatchObject({ ok: true, result: { body: { method: 'GET', echoed: '' } } });
      expect(hops).toHaveLength(4);
    });

    it('should stop after too many redirects, or not follow them when asked', async () => {
      expect(await request({ url: `${server.url}/loop` }, LOOPBACK)).toMatchObject({ ok: false, error: { code: 'too_many_redirects' } });
      expect(await request({ url: `${server.url}/hop`, follow_redirects: false }, LOOPBACK)).toMatchObject({ ok: true, result: { status: 302 } });
    });

    it('should fail with response_too_large past max_response_bytes', async () => {
      expect(await request({ url: `${server.url}/big`, max_response_bytes: 1_000 }, LOOPBACK)).toMatchObject({ ok: false, error: { code: 'response_too_large' } });
      // The client's own maximum (64 KiB here) caps what a call may ask for.
      expect(await request({ url: `${server.url}/big`, max_response_bytes: 10_000_000 }, LOOPBACK)).toMatchObject({ ok: false, error: { code: 'response_too_large' } });
    });

    it('should fail with timeout past timeout_ms', async () => {
      const started = performance.now();

      expect(await request({ url: `${server.url}/slow`, timeout_ms: 150 }, LOOPBACK)).toMatchObject({ ok: false, error: { code: 'timeout', retryable: true } });
      expect(performance.now() - started).toBeLessThan(1_000);
    });

    it('should stop at once when the run is cancelled', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('cancelled')), 100);
      const started = performance.now();

      const result = await request({ url: `${server.url}/slow` }, LOOPBACK, { signal: controller.signal });

      expect(result).toMatchObject({ ok: false, error: { code: 'aborted' } });
      expect(performance.now() - started).toBeLessThan(1_000);
    });

    it('should connect to the checked address while sending the name in the Host header (DNS pinning)', async () => {
      const result = await request({ url: `http://pinned.test:${server.port}/host` }, { allowedNetworks: ['pinned.test'] }, { resolve: async () => ['127.0.0.1'] });

      expect(result).toMatchObject({ ok: true, result: { body: { host: `pinned.test:${server.port}` } } });
      expect(hops.map((hop) => [hop.address, hop.url.hostname])).toEqual([['127.0.0.1', 'pinned.test']]);
    });
  });
});
