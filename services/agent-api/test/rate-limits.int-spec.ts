import type { ApiErrorBody } from '@skreaver/contracts';
import { privateRedis, waitFor } from '@skreaver/testing';
import type { PrivateRedis } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { ApiResponse, BootedAgentApi } from './agent-api.harness';

const WRONG_KEY = 'sk_aaaaaaaaaa_wrongwrongwrongwrongwrongwrongwrong';

/** The value of an unlabelled (or first labelled) sample of `name` in Prometheus text, 0 when absent. */
function metric(text: unknown, name: string): number {
  const line = String(text)
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name} `) || candidate.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

function rateLimitHeaders(response: ApiResponse<unknown>) {
  return {
    limit: response.headers.get('ratelimit-limit'),
    remaining: response.headers.get('ratelimit-remaining'),
    reset: response.headers.get('ratelimit-reset'),
  };
}

describe('rate limits across two agent-api instances sharing Redis', () => {
  const PER_SUBJECT = 6;
  const WINDOW_SECONDS = 60;
  let first: BootedAgentApi;
  let second: BootedAgentApi;

  beforeAll(async () => {
    const limits = { SKREAVER_RATE_LIMIT_PER_SUBJECT: String(PER_SUBJECT), SKREAVER_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS) };
    first = await bootAgentApi('sqlite', limits);
    // The same Redis prefix, JWT secret and database: two replicas of one deployment.
    second = await bootAgentApi(
      'sqlite',
      { ...limits, REDIS_KEY_PREFIX: first.redis.prefix, JWT_SECRET_KEY: first.jwtSecret },
      { database: first.database },
    );
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('should count one subject on both instances against one limit, then refuse with 429 and Retry-After', async () => {
    const key = await first.createKey('operator', { name: 'shared-limit' });
    const token = await first.tokenFor(key.key);

    const answers: Array<ApiResponse<ApiErrorBody>> = [];
    for (let i = 0; i <= PER_SUBJECT; i += 1) answers.push(await (i % 2 === 0 ? first : second).request<ApiErrorBody>('GET', '/agents', { token }));

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(answers.slice(0, PER_SUBJECT).map((answer) => rateLimitHeaders(answer).remaining)).toEqual(['5', '4', '3', '2', '1', '0']);
    const refused = answers[PER_SUBJECT] as ApiResponse<ApiErrorBody>;
    expect(refused.body).toMatchObject({ error: 'rate_limited', details: { scope: 'subject', limit: PER_SUBJECT, window_seconds: WINDOW_SECONDS } });
    expect(refused.body.request_id).toBe(refused.headers.get('x-request-id'));
    expect(rateLimitHeaders(refused)).toEqual({ limit: '6', remaining: '0', reset: expect.stringMatching(/^\d+$/) });
    const retryAfter = Number(refused.headers.get('retry-after'));
    // GCRA: after a burst of 6 in a 60 s window, one request every 10 s.
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS / PER_SUBJECT);
    expect(Number(refused.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(WINDOW_SECONDS);
  });

  it('should treat the key and the tokens minted from it as one subject, and other subjects apart', async () => {
    const key = await first.createKey('viewer', { name: 'key-and-token' });
    const token = await first.tokenFor(key.key);
    for (let i = 0; i < PER_SUBJECT; i += 1) expect((await second.request('GET', '/tools', { token })).status).toBe(200);

    expect((await first.request<ApiErrorBody>('GET', '/tools', { apiKey: key.key })).body.error).toBe('rate_limited');
    const other = await second.request('GET', '/tools', { token: first.adminToken });
    expect(other.status).toBe(200);
    expect(Number(rateLimitHeaders(other).remaining)).toBeGreaterThan(0);
  });

  it('should never limit the probes', async () => {
    for (let i = 0; i < 3; i += 1) {
      for (const path of ['/health', '/ready', '/metrics']) {
        const answer = await first.request('GET', path);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('ratelimit-limit')).toBeNull();
      }
    }
  });
});

describe('the per-address limit', () => {
  const PER_IP = 3;
  let api: BootedAgentApi;

  beforeAll(async () => {
    api = await bootAgentApi('sqlite', { SKREAVER_RATE_LIMIT_PER_IP: String(PER_IP), SKREAVER_TRUST_PROXY: 'true' });
  });

  afterAll(async () => {
    await api?.close();
  });

  const guess = (forwardedFor: string) => api.request<ApiErrorBody>('POST', '/auth/token', { apiKey: WRONG_KEY, headers: { 'x-forwarded-for': forwardedFor } });

  it('should refuse key guessing at POST /auth/token before checking the key', async () => {
    const answers = [];
    for (let i = 0; i <= PER_IP; i += 1) answers.push(await guess('203.0.113.7'));

    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401, 429]);
    expect(answers.map((answer) => answer.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    expect(answers[PER_IP]?.body).toMatchObject({ error: 'rate_limited', details: { scope: 'ip', limit: PER_IP } });
    expect(Number(answers[PER_IP]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('should key on the address the trusted proxy appended, not on what the client put before it', async () => {
    expect((await guess('198.51.100.1, 203.0.113.7')).status).toBe(429);
    expect((await guess('203.0.113.7, 203.0.113.8')).status).toBe(401);
  });

  it('should let probes through from an address over its limit', async () => {
    const probe = await api.request('GET', '/ready', { headers: { 'x-forwarded-for': '203.0.113.7' } });

    expect(probe.status).toBe(200);
    expect(probe.headers.get('ratelimit-limit')).toBeNull();
  });
});

describe('rate limits while Redis is down', () => {
  let redis: PrivateRedis;
  let api: BootedAgentApi;

  beforeAll(async () => {
    redis = await privateRedis();
    api = await bootAgentApi('sqlite', { REDIS_URL: redis.url, SKREAVER_RATE_LIMIT_PER_SUBJECT: '2' });
  });

  afterAll(async () => {
    await api?.close();
    await redis?.cleanup();
  });

  it('should fail open, count the errors, warn once, and limit again when Redis is back', async () => {
    const key = await api.createKey('operator', { name: 'outage' });
    await redis.stop();
    try {
      // API keys are checked against the database alone, so these requests need nothing from Redis but the limiter.
      const during = [];
      for (let i = 0; i < 5; i += 1) during.push(await api.request('GET', '/agents', { apiKey: key.key }));

      expect(during.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
      expect(during.every((answer) => answer.headers.get('ratelimit-limit') === null)).toBe(true);
      const metrics = (await api.request('GET', '/metrics')).body;
      expect(metric(metrics, 'skreaver_rate_limit_errors_total')).toBeGreaterThanOrEqual(5);
      expect(api.logs.filter((line) => line.includes('Rate limiter cannot reach Redis'))).toHaveLength(1);
    } finally {
      await redis.start();
    }
    const refused = await waitFor(
      async () => {
        const answer = await api.request<ApiErrorBody>('GET', '/agents', { apiKey: key.key });
        return answer.status === 429 ? answer : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the limit to apply again' },
    );
    expect(refused.body.error).toBe('rate_limited');
  });
});
