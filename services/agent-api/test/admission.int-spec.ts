import { TokenDenylist } from '@skreaver/auth';
import type { ApiErrorBody } from '@skreaver/contracts';
import { isolatedRedis } from '@skreaver/testing';
import type { IsolatedRedis } from '@skreaver/testing';
import Redis from 'ioredis';

import { RateLimitStore } from '../src/rate-limit/rate-limit.store';
import type { AdmissionCheck } from '../src/rate-limit/rate-limit.store';
import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

const TENANT = 'acme';
const JTI = '6f1c1b8e-5d7a-4c37-9d55-5b0f3f4f2a10';
const SUBJECT = 'key:abcdefghij';
const WINDOW_MS = 60_000;

describe(`${RateLimitStore.name}.admit (one round trip for the address limit, the denylist and the subject limit)`, () => {
  let redis: IsolatedRedis;
  let client: Redis;
  let store: RateLimitStore;
  let storeClient: Redis;
  let denylist: TokenDenylist;
  let issuedAt: number;

  const check = (overrides: Partial<AdmissionCheck> = {}): AdmissionCheck => ({
    ip: { id: '203.0.113.7', limit: 5 },
    subject: { id: SUBJECT, limit: 3 },
    windowMs: WINDOW_MS,
    revocationKeys: denylist.keysOf(TENANT, JTI, SUBJECT),
    issuedAt,
    ...overrides,
  });
  const bucketExists = async (scope: 'ip' | 'subject', id: string) => (await client.exists(`${redis.prefix}:ratelimit:{${scope}:${id}}`)) === 1;

  beforeEach(async () => {
    redis = isolatedRedis('admission');
    client = new Redis(redis.url);
    // A plain connection: the service's (RateLimitStore.connect) times commands out after 250 ms, which a loaded CI
    // machine can exceed; what is under test here is the script.
    storeClient = new Redis(redis.url);
    store = new RateLimitStore(storeClient, redis.prefix);
    await store.onModuleInit();
    denylist = new TokenDenylist(client, redis.prefix);
    issuedAt = Date.now() / 1000 - 1;
  });

  afterEach(async () => {
    store.onApplicationShutdown();
    client.disconnect();
    await redis.cleanup();
  });

  it('should count the address and the subject and read the denylist of a valid token', async () => {
    const state = await store.admit(check());

    expect(state.ip).toMatchObject({ allowed: true, limit: 5, remaining: 4 });
    expect(state.revocation).toEqual({ denied: false, tenantNotBefore: null, subjectNotBefore: null });
    expect(state.subject).toMatchObject({ allowed: true, limit: 3, remaining: 2 });
  });

  it('should count each bucket exactly as the bucket-by-bucket script does', async () => {
    const admitted = [];
    for (let i = 0; i < 4; i += 1) admitted.push(await store.admit(check({ ip: { id: 'one-trip', limit: 0 } })));
    const taken = [];
    for (let i = 0; i < 4; i += 1) taken.push(await store.take('subject', 'bucket-by-bucket', 3, WINDOW_MS));

    expect(admitted.map((state) => state.subject)).toEqual(taken);
    expect(taken.map((state) => state.allowed)).toEqual([true, true, true, false]);
  });

  it('should refuse an address over its limit without reading the denylist or counting the subject', async () => {
    for (let i = 0; i < 5; i += 1) expect((await store.admit(check({ subject: { id: 'other', limit: 3 } }))).ip?.allowed).toBe(true);

    const refused = await store.admit(check());

    expect(refused.ip).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.ip?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.revocation).toBeUndefined();
    expect(refused.subject).toBeUndefined();
    expect(await bucketExists('subject', SUBJECT)).toBe(false);
  });

  it('should refuse a subject over its limit after counting the address', async () => {
    const states = [];
    for (let i = 0; i < 4; i += 1) states.push(await store.admit(check()));

    expect(states.map((state) => state.subject?.allowed)).toEqual([true, true, true, false]);
    expect(states[3]?.subject).toMatchObject({ remaining: 0 });
    expect(states.map((state) => state.ip?.remaining)).toEqual([4, 3, 2, 1]);
  });

  it('should report a denylisted token and not count its subject', async () => {
    await denylist.revoke(TENANT, JTI, Date.now() / 1000 + 60);

    const state = await store.admit(check());

    expect(state.ip).toMatchObject({ allowed: true, remaining: 4 });
    expect(state.revocation).toEqual({ denied: true, tenantNotBefore: null, subjectNotBefore: null });
    expect(state.subject).toBeUndefined();
    expect(await bucketExists('subject', SUBJECT)).toBe(false);
  });

  it("should report a token issued before its tenant's or subject's cut-off and not count its subject", async () => {
    await denylist.revokeAllBefore(TENANT, Math.ceil(issuedAt));
    const tenantCut = await store.admit(check());
    expect(tenantCut.revocation?.tenantNotBefore).toBe(String(Math.ceil(issuedAt)));
    expect(tenantCut.subject).toBeUndefined();

    const later = await store.admit(check({ issuedAt: issuedAt + 5 }));
    expect(later.subject).toMatchObject({ allowed: true, remaining: 2 });

    await denylist.revokeSubjectBefore(TENANT, SUBJECT, Math.ceil(issuedAt + 10), 60);
    const subjectCut = await store.admit(check({ issuedAt: issuedAt + 5 }));
    expect(subjectCut.revocation?.subjectNotBefore).toBe(String(Math.ceil(issuedAt + 10)));
    expect(subjectCut.subject).toBeUndefined();
  });

  it('should count nothing for a limit of 0 and still read the denylist', async () => {
    const state = await store.admit(check({ ip: { id: 'none', limit: 0 }, subject: { id: SUBJECT, limit: 0 } }));

    expect(state).toEqual({ revocation: { denied: false, tenantNotBefore: null, subjectNotBefore: null } });
    expect(await bucketExists('ip', 'none')).toBe(false);
    expect(await bucketExists('subject', SUBJECT)).toBe(false);
  });

  it('should send the script again after Redis forgot it (SCRIPT FLUSH, a restart)', async () => {
    await store.admit(check());
    await client.script('FLUSH');

    expect((await store.admit(check())).subject).toMatchObject({ allowed: true, remaining: 1 });
  });

  // The store's own connection, counted as it sends (still real Redis underneath; the server is shared by parallel
  // test files, so its command statistics would count theirs too).
  const countScriptCalls = () => {
    const evalsha = jest.spyOn(storeClient, 'evalsha');
    const evalFull = jest.spyOn(storeClient, 'eval');
    return () => evalsha.mock.calls.length + evalFull.mock.calls.length;
  };

  it('should count the requests of one turn in one call, in the order they were admitted, as one by one would', async () => {
    const admitCalls = countScriptCalls();
    // Three addresses and one subject, interleaved: address 203.0.113.1 runs out at its third request, the subject
    // at its fourth counted one (refused addresses do not count it).
    const ips = ['203.0.113.1', '203.0.113.2', '203.0.113.1', '203.0.113.3', '203.0.113.1', '203.0.113.2'];
    const together = await Promise.all(ips.map((id) => store.admit(check({ ip: { id, limit: 2 } }))));
    const calls = admitCalls();

    await client.del(...(await client.keys(`${redis.prefix}:ratelimit:*`)));
    const oneByOne = [];
    for (const id of ips) oneByOne.push(await store.admit(check({ ip: { id, limit: 2 } })));

    expect(calls).toBe(1);
    expect(together).toEqual(oneByOne);
    expect(together.map((state) => [state.ip?.allowed, state.subject?.allowed])).toEqual([
      [true, true],
      [true, true],
      [true, true],
      [true, false],
      [false, undefined],
      [true, false],
    ]);
  });

  it('should split a turn of more requests than one call takes into several calls, none lost', async () => {
    const admitCalls = countScriptCalls();

    const states = await Promise.all(Array.from({ length: 70 }, () => store.admit(check({ ip: { id: 'many', limit: 100 }, subject: { id: 'many', limit: 0 } }))));

    expect(admitCalls()).toBe(3);
    expect(states.map((state) => state.ip?.remaining).sort((a, b) => (b ?? 0) - (a ?? 0))).toEqual(Array.from({ length: 70 }, (_, i) => 99 - i));
  });

  it('should fail every request of a call that Redis could not answer, and admit the next turn once it can', async () => {
    const connection = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false });
    const recovering = new RateLimitStore(connection, redis.prefix);
    try {
      const failed = await Promise.allSettled([recovering.admit(check()), recovering.admit(check())]);
      expect(failed.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);

      // The failed commands set the lazy connection connecting; the store's boot wait sees it ready.
      await recovering.onModuleInit();
      expect(connection.status).toBe('ready');
      const states = await Promise.all([recovering.admit(check()), recovering.admit(check())]);
      expect(states.map((state) => state.subject?.remaining)).toEqual([2, 1]);
    } finally {
      recovering.onApplicationShutdown();
    }
  });
});

describe('agent-api admission of requests with an access token', () => {
  // Enough for the admin token's few calls in this file; each test's own token gets two warm-up requests.
  const PER_SUBJECT = 6;
  let first: BootedAgentApi;
  let second: BootedAgentApi;

  beforeAll(async () => {
    const limits = { SKREAVER_RATE_LIMIT_PER_SUBJECT: String(PER_SUBJECT) };
    first = await bootAgentApi('sqlite', limits);
    second = await bootAgentApi('sqlite', { ...limits, REDIS_KEY_PREFIX: first.redis.prefix, JWT_SECRET_KEY: first.jwtSecret }, { database: first.database });
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  /**
   * A fresh operator token that made one request of GET /tools on each replica: their first, if the route's, taught
   * them its access (the one-trip admission needs it); its subject has PER_SUBJECT - 2 requests left.
   */
  async function freshToken(): Promise<string> {
    const key = await first.createKey('operator');
    const token = await first.tokenFor(key.key);
    for (const api of [first, second]) expect((await api.request('GET', '/tools', { token })).status).toBe(200);
    return token;
  }

  it('should admit in one round trip once the route is known, with the same answers as step by step', async () => {
    const token = await freshToken();
    const admit = jest.spyOn(first.app.get(RateLimitStore), 'admit');
    try {
      const answers = [];
      for (let i = 0; i < 5; i += 1) answers.push(await first.request<ApiErrorBody>('GET', '/tools', { token }));

      expect(admit).toHaveBeenCalledTimes(5);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 429]);
      expect(answers.map((answer) => answer.headers.get('ratelimit-remaining'))).toEqual(['3', '2', '1', '0', '0']);
      expect(answers[4]?.body).toMatchObject({ error: 'rate_limited', details: { scope: 'subject', limit: PER_SUBJECT } });
    } finally {
      admit.mockRestore();
    }
  });

  it('should refuse a token on every replica right after it is revoked, without counting it any more', async () => {
    const token = await freshToken();
    expect((await first.request('GET', '/tools', { token })).status).toBe(200);
    expect((await first.request('POST', '/auth/revoke', { token })).status).toBe(204);

    for (const api of [first, second]) {
      const refused = await api.request<ApiErrorBody>('GET', '/tools', { token });
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: 'unauthorized', details: { reason: 'revoked' } });
      // Only the address was counted: the headers show its limit (the default 1200), not the subject's.
      expect(refused.headers.get('ratelimit-limit')).toBe('1200');
    }
  });

  it('should refuse every earlier token of the tenant right after revoke-all', async () => {
    const token = await freshToken();
    expect((await second.request('GET', '/tools', { token })).status).toBe(200);
    const other = await first.createKey('admin', { tenant_id: 'admission-other' });
    const otherToken = await first.tokenFor(other.key);

    expect((await first.request('POST', '/auth/revoke-all', { token: first.adminToken })).status).toBe(204);

    expect((await second.request<ApiErrorBody>('GET', '/tools', { token })).body).toMatchObject({ details: { reason: 'revoked' } });
    expect((await second.request('GET', '/tools', { token: otherToken })).status).toBe(200);
  });
});
