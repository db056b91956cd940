import { JsonLogger } from '@skreaver/observability';
import { register } from 'prom-client';

import { AgentApiConfig } from '../config';
import type { RateLimitScope, RateLimitState, RateLimitStore } from './rate-limit.store';
import { RateLimiter } from './rate-limiter.service';

const ALLOWED: RateLimitState = { allowed: true, limit: 600, remaining: 599, resetSeconds: 1, retryAfterSeconds: 0 };

function newTestService(env: Record<string, string> = {}) {
  const lines: string[] = [];
  const take = jest.fn<Promise<RateLimitState>, [RateLimitScope, string, number, number]>().mockResolvedValue(ALLOWED);
  const store = { take } as Pick<RateLimitStore, 'take'> as RateLimitStore;
  const sut = new RateLimiter(store, AgentApiConfig.load(env), new JsonLogger('skreaver_agent_api', 'trace', (line) => lines.push(line)));
  return { sut, take, lines };
}

async function errorsCounted(scope: RateLimitScope): Promise<number> {
  const metric = await register.getSingleMetric('skreaver_rate_limit_errors_total')?.get();
  return metric?.values.find((value) => value.labels['scope'] === scope)?.value ?? 0;
}

describe(RateLimiter.name, () => {
  afterEach(() => jest.restoreAllMocks());

  it('should count a subject against the subject limit and window from the config', async () => {
    const { sut, take } = newTestService({ SKREAVER_RATE_LIMIT_PER_SUBJECT: '50', SKREAVER_RATE_LIMIT_WINDOW_SECONDS: '10' });

    const verdict = await sut.forSubject('key:abcdefghij');

    expect(take).toHaveBeenCalledWith('subject', 'key:abcdefghij', 50, 10_000);
    expect(verdict).toEqual({ ...ALLOWED, scope: 'subject', windowSeconds: 10 });
  });

  it('should count a client by its peer address unless the proxy is trusted', async () => {
    const untrusted = newTestService();
    const trusted = newTestService({ SKREAVER_TRUST_PROXY: 'true', SKREAVER_RATE_LIMIT_PER_IP: '7' });

    await untrusted.sut.forClient('10.0.0.1', '203.0.113.5');
    await trusted.sut.forClient('10.0.0.1', '203.0.113.5');

    expect(untrusted.take).toHaveBeenCalledWith('ip', '10.0.0.1', 1200, 60_000);
    expect(trusted.take).toHaveBeenCalledWith('ip', '203.0.113.5', 7, 60_000);
  });

  it('should not ask Redis at all when a limit is 0', async () => {
    const { sut, take } = newTestService({ SKREAVER_RATE_LIMIT_PER_SUBJECT: '0', SKREAVER_RATE_LIMIT_PER_IP: '0' });

    expect(await sut.forSubject('key:abcdefghij')).toBeNull();
    expect(await sut.forClient('10.0.0.1', undefined)).toBeNull();
    expect(take).not.toHaveBeenCalled();
  });

  it('should let requests through when Redis fails, count each failure and warn at most every 30 s', async () => {
    const { sut, take, lines } = newTestService();
    take.mockRejectedValue(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const before = await errorsCounted('subject');

    const verdicts = [await sut.forSubject('key:a'), await sut.forSubject('key:b')];
    now.mockReturnValue(1_000_000 + 29_999);
    await sut.forSubject('key:c');
    now.mockReturnValue(1_000_000 + 30_000);
    await sut.forSubject('key:d');

    expect(verdicts).toEqual([null, null]);
    expect((await errorsCounted('subject')) - before).toBe(4);
    const warnings = lines.filter((line) => line.includes('Rate limiter cannot reach Redis'));
    expect(warnings).toHaveLength(2);
    // The second warning says how many checks failed since the first.
    expect(JSON.parse(warnings[1] ?? '{}')).toMatchObject({ level: 'WARN', fields: { failures: 3 } });
  });

  it('should pass a refusal on with its retry time', async () => {
    const { sut, take } = newTestService();
    take.mockResolvedValue({ allowed: false, limit: 600, remaining: 0, resetSeconds: 60, retryAfterSeconds: 1 });

    expect(await sut.forSubject('key:abcdefghij')).toMatchObject({ allowed: false, retryAfterSeconds: 1, scope: 'subject' });
  });
});
