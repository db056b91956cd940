import { SkreaverClient } from './client';
import { SkreaverError } from './errors';
import type { FetchLike } from './transport';

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

type Answer = Response | Error | ((sent: Sent) => Response | Error);

/** A fetch that records every request and answers from a script (the last answer repeats). */
function fakeFetch(...answers: Answer[]) {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    const request = { method: String(init.method), url, headers: { ...(init.headers as Record<string, string>) }, body: init.body ? JSON.parse(String(init.body)) : undefined };
    sent.push(request);
    if (init.signal?.aborted) throw init.signal.reason;
    const next = answers.length > 1 ? answers.shift() : answers[0];
    const answer = typeof next === 'function' ? next(request) : next;
    if (answer instanceof Error) throw answer;
    return (answer as Response).clone();
  };
  return { fetch, sent };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const apiError = (status: number, code: string, headers: Record<string, string> = {}) => json(status, { error: code, message: code, request_id: `req-${code}` }, headers);
const RUN = { id: 'run-1', status: 'queued' };
const client = (fetch: FetchLike, extra: Partial<ConstructorParameters<typeof SkreaverClient>[0]> = {}) =>
  new SkreaverClient({ baseUrl: 'http://api.test/', token: 'tok', fetch, retry: { initialDelayMs: 1 }, ...extra });

describe('SkreaverClient requests', () => {
  it('should send the method, encoded path, query, JSON body and bearer token of a call', async () => {
    const { fetch, sent } = fakeFetch(json(200, { key: 'a b', value: 1 }));
    await client(fetch).memory.put('agent/1', 'a b', 1, { ttlSeconds: 60 });
    await client(fetch).runs.list({ status: 'failed', limit: 5 });
    expect(sent[0]).toMatchObject({ method: 'PUT', url: 'http://api.test/agents/agent%2F1/memory/a%20b', body: { value: 1, ttl_seconds: 60 } });
    expect(sent[0]?.headers).toMatchObject({ authorization: 'Bearer tok', 'content-type': 'application/json' });
    expect(sent[1]).toMatchObject({ method: 'GET', url: 'http://api.test/runs?status=failed&limit=5', body: undefined });
  });

  it('should reject with a SkreaverError carrying the API error', async () => {
    const { fetch } = fakeFetch(apiError(404, 'not_found'));
    const error = await client(fetch).agents.get('nope').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SkreaverError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', requestId: 'req-not_found' });
  });
});

describe('SkreaverClient retries', () => {
  it('should retry a GET on 429 and 503, waiting what Retry-After / RateLimit-Reset says', async () => {
    const { fetch, sent } = fakeFetch(apiError(429, 'rate_limited', { 'retry-after': '0' }), apiError(503, 'overloaded', { 'ratelimit-reset': '0' }), json(200, RUN));
    await expect(client(fetch).runs.get('run-1')).resolves.toEqual(RUN);
    expect(sent).toHaveLength(3);
  });

  it('should retry a GET after a network error', async () => {
    const { fetch, sent } = fakeFetch(new TypeError('fetch failed'), json(200, RUN));
    await expect(client(fetch).runs.get('run-1')).resolves.toEqual(RUN);
    expect(sent).toHaveLength(2);
  });

  it('should give up after the bounded number of attempts with the last error', async () => {
    const { fetch, sent } = fakeFetch(apiError(503, 'redis_unavailable', { 'retry-after': '0' }));
    await expect(client(fetch, { retry: { retries: 2, initialDelayMs: 1 } }).agents.list()).rejects.toMatchObject({ status: 503, code: 'redis_unavailable' });
    expect(sent).toHaveLength(3);
  });

  it('should not retry a POST without an Idempotency-Key, and retry one with it (the same key every time)', async () => {
    const plain = fakeFetch(apiError(503, 'overloaded', { 'retry-after': '0' }), json(202, RUN));
    await expect(client(plain.fetch).runs.create('agent-1', { q: 1 })).rejects.toMatchObject({ code: 'overloaded' });
    expect(plain.sent).toHaveLength(1);

    const keyed = fakeFetch(apiError(503, 'overloaded', { 'retry-after': '0' }), new TypeError('socket hang up'), json(200, RUN));
    await expect(client(keyed.fetch).runs.create('agent-1', { q: 1 }, { idempotencyKey: 'order-42', wait: 5 })).resolves.toEqual(RUN);
    expect(keyed.sent.map((request) => [request.url, request.headers['idempotency-key']])).toEqual(
      Array(3).fill(['http://api.test/agents/agent-1/runs?wait=5', 'order-42']),
    );
  });

  it('should not retry errors other than 429 and 503', async () => {
    const { fetch, sent } = fakeFetch(apiError(500, 'internal_error'), json(200, RUN));
    await expect(client(fetch).runs.get('run-1')).rejects.toMatchObject({ status: 500 });
    expect(sent).toHaveLength(1);
  });

  it('should not wait longer than maxDelayMs: a longer Retry-After is thrown to the caller', async () => {
    const { fetch, sent } = fakeFetch(apiError(429, 'rate_limited', { 'retry-after': '120' }), json(200, RUN));
    await expect(client(fetch).runs.get('run-1')).rejects.toMatchObject({ status: 429, retryAfterSeconds: 120 });
    expect(sent).toHaveLength(1);
  });

  it('should reject with the signal reason when aborted during a retry wait, without another attempt', async () => {
    const { fetch, sent } = fakeFetch(apiError(429, 'rate_limited', { 'retry-after': '20' }), json(200, RUN));
    const controller = new AbortController();
    const call = client(fetch).runs.get('run-1', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 10);
    await expect(call).rejects.toThrow('user gave up');
    expect(sent).toHaveLength(1);
  });

  it('should reject at once with the reason of an already aborted signal', async () => {
    const { fetch } = fakeFetch(json(200, RUN));
    await expect(client(fetch).runs.get('run-1', { signal: AbortSignal.abort(new Error('stop')) })).rejects.toThrow('stop');
  });
});

describe('SkreaverClient credentials', () => {
  const token = (name: string, expiresIn = 3600) => json(200, { access_token: name, token_type: 'Bearer', expires_in: expiresIn, expires_at: new Date(Date.now() + expiresIn * 1000).toISOString() });

  it('should exchange the API key once for concurrent calls and use the token', async () => {
    const { fetch, sent } = fakeFetch((request) => (request.url.endsWith('/auth/token') ? token('jwt-1') : json(200, RUN)));
    const api = new SkreaverClient({ baseUrl: 'http://api.test', apiKey: 'sk_key', fetch });
    await Promise.all([api.runs.get('a'), api.runs.get('b'), api.agents.list()]);
    const exchanges = sent.filter((request) => request.url.endsWith('/auth/token'));
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]?.headers).toMatchObject({ 'x-api-key': 'sk_key' });
    expect(exchanges[0]?.headers['authorization']).toBeUndefined();
    expect(sent.filter((request) => !request.url.endsWith('/auth/token')).map((request) => request.headers['authorization'])).toEqual(Array(3).fill('Bearer jwt-1'));
  });

  it('should refresh a token before it expires', async () => {
    let minted = 0;
    const { fetch, sent } = fakeFetch((request) => (request.url.endsWith('/auth/token') ? token(`jwt-${++minted}`, 0) : json(200, RUN)));
    const api = new SkreaverClient({ baseUrl: 'http://api.test', apiKey: 'sk_key', fetch });
    await api.runs.get('a');
    await api.runs.get('b');
    // A token with no lifetime left is never reused: each call got a fresh one.
    expect(sent.filter((request) => !request.url.endsWith('/auth/token')).map((request) => request.headers['authorization'])).toEqual(['Bearer jwt-1', 'Bearer jwt-2']);
  });

  it('should refresh ahead of expiry in the background, still using the valid token meanwhile', async () => {
    let minted = 0;
    const { fetch, sent } = fakeFetch((request) => (request.url.endsWith('/auth/token') ? token(`jwt-${++minted}`, 3600) : json(200, RUN)));
    const api = new SkreaverClient({ baseUrl: 'http://api.test', apiKey: 'sk_key', fetch });
    const start = Date.now();
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(start);
      await api.runs.get('a');
      // 50 s before the hour is over: inside the refresh margin (a minute), not expired.
      now.mockReturnValue(start + 3_550_000);
      await api.runs.get('b');
      // The background exchange call b started (awaited here so the next call deterministically sees its result).
      await (api.transport as unknown as { exchange?: Promise<string> }).exchange;
      await api.runs.get('c');
      const used = sent.filter((request) => !request.url.endsWith('/auth/token')).map((request) => request.headers['authorization']);
      expect(used).toEqual(['Bearer jwt-1', 'Bearer jwt-1', 'Bearer jwt-2']);
      expect(minted).toBe(2);
    } finally {
      now.mockRestore();
    }
  });

  it('should exchange the key again and retry once when a token is refused (revoked)', async () => {
    let minted = 0;
    const { fetch, sent } = fakeFetch((request) =>
      request.url.endsWith('/auth/token') ? token(`jwt-${++minted}`) : request.headers['authorization'] === 'Bearer jwt-1' ? apiError(401, 'unauthorized') : json(201, RUN),
    );
    const api = new SkreaverClient({ baseUrl: 'http://api.test', apiKey: 'sk_key', fetch });
    await expect(api.agents.create({ name: 'a', kind: 'echo', config: {} } as never)).resolves.toEqual(RUN);
    expect(sent.map((request) => `${request.method} ${request.url.replace('http://api.test', '')} ${request.headers['authorization'] ?? ''}`)).toEqual([
      'POST /auth/token ',
      'POST /agents Bearer jwt-1',
      'POST /auth/token ',
      'POST /agents Bearer jwt-2',
    ]);
  });

  it('should surface a 401 of a fixed token as is', async () => {
    const { fetch, sent } = fakeFetch(apiError(401, 'unauthorized'));
    await expect(client(fetch).agents.list()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(sent).toHaveLength(1);
  });
});
