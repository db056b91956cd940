import { randomUUID } from 'node:crypto';

import { generateApiKey } from './api-key.codec';
import type { GeneratedApiKey } from './api-key.codec';
import type { ApiKeyStore, StoredApiKey } from './api-key-store';
import { AuthError, AuthUnavailableError } from './auth-error';
import { Authenticator } from './authenticator';
import type { RevocationList, RevocationStatus } from './token-denylist';
import { TokenService } from './token.service';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

class InMemoryKeyStore implements ApiKeyStore {
  readonly rows = new Map<string, StoredApiKey>();
  readonly touches: Array<[string, string]> = [];
  lookups = 0;
  failure: Error | undefined;
  touchFailure: Error | undefined;

  async findByPrefix(prefix: string): Promise<StoredApiKey | null> {
    this.lookups += 1;
    if (this.failure) throw this.failure;
    return this.rows.get(prefix) ?? null;
  }

  async touch(id: string, at: string): Promise<void> {
    this.touches.push([id, at]);
    if (this.touchFailure) throw this.touchFailure;
  }
}

class FakeRevocations implements RevocationList {
  status: RevocationStatus = { revoked: false, tenantNotBefore: null, subjectNotBefore: null };

  async check(): Promise<RevocationStatus> {
    return this.status;
  }
}

const ApiKeyFactory = {
  create(overrides: Partial<StoredApiKey> = {}): { generated: GeneratedApiKey; stored: StoredApiKey } {
    const generated = generateApiKey();
    const stored: StoredApiKey = {
      id: randomUUID(),
      name: 'ci',
      prefix: generated.prefix,
      role: 'operator',
      tenant_id: 'acme',
      created_at: iso(T0 - 1000),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      secret_hash: generated.hash,
      created_by: 'key:bootstrapxx',
      ...overrides,
    };
    return { generated, stored };
  },
};

function newTestAuthenticator() {
  const clock = { now: T0 };
  const keys = new InMemoryKeyStore();
  const revocations = new FakeRevocations();
  const touchErrors: unknown[] = [];
  const touchErrorRequests: unknown[] = [];
  const tokens = new TokenService({ secret: SECRET, ttlSeconds: 600, revocations, now: () => clock.now });
  const onTouchError = (error: unknown, request: unknown) => {
    touchErrors.push(error);
    touchErrorRequests.push(request);
  };
  const sut = new Authenticator({ keys, tokens, now: () => clock.now, onTouchError });
  const addKey = (overrides: Partial<StoredApiKey> = {}) => {
    const key = ApiKeyFactory.create(overrides);
    keys.rows.set(key.stored.prefix, key.stored);
    return key;
  };
  return { sut, clock, keys, revocations, tokens, touchErrors, touchErrorRequests, addKey };
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AuthError) return error.reason;
    throw error;
  }
  throw new Error('expected an AuthError');
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(Authenticator.name, () => {
  describe('with an API key', () => {
    it.each([
      ['X-API-Key', (key: string) => ({ apiKey: key })],
      ['Authorization: Bearer', (key: string) => ({ authorization: `Bearer ${key}` })],
      ['a lower-case bearer scheme', (key: string) => ({ authorization: `bearer ${key}` })],
    ])('should authenticate a key sent as %s', async (_label, headers) => {
      const { sut, addKey } = newTestAuthenticator();
      const { generated, stored } = addKey();

      await expect(sut.authenticate(headers(generated.key))).resolves.toEqual({
        subject: `key:${stored.prefix}`,
        role: 'operator',
        tenant_id: 'acme',
        via: 'api_key',
        key_id: stored.id,
      });
    });

    it("should carry the key's expiry in the principal", async () => {
      const { sut, addKey } = newTestAuthenticator();
      const { generated } = addKey({ expires_at: iso(T0 + 60_000) });

      await expect(sut.authenticate({ apiKey: generated.key })).resolves.toMatchObject({ expires_at: iso(T0 + 60_000) });
    });

    it('should refuse an unknown prefix and a wrong secret alike, as unknown_key', async () => {
      const { sut, addKey } = newTestAuthenticator();
      const { generated } = addKey();
      const wrongSecret = `sk_${generated.prefix}_${generateApiKey().secret}`;

      expect(await reasonOf(sut.authenticate({ apiKey: generateApiKey().key }))).toBe('unknown_key');
      expect(await reasonOf(sut.authenticate({ apiKey: wrongSecret }))).toBe('unknown_key');
    });

    it('should refuse a revoked key as revoked and an expired one as expired_key', async () => {
      const { sut, addKey } = newTestAuthenticator();
      const revoked = addKey({ revoked_at: iso(T0 - 1) }).generated.key;
      const expired = addKey({ expires_at: iso(T0) }).generated.key;

      expect(await reasonOf(sut.authenticate({ apiKey: revoked }))).toBe('revoked');
      expect(await reasonOf(sut.authenticate({ authorization: `Bearer ${expired}` }))).toBe('expired_key');
    });

    it('should refuse a malformed key without a lookup', async () => {
      const { sut, keys } = newTestAuthenticator();

      expect(await reasonOf(sut.authenticate({ apiKey: 'sk_short_secret' }))).toBe('malformed');
      expect(keys.lookups).toBe(0);
    });

    it('should record last use at most once per interval, without waiting for the write', async () => {
      const { sut, clock, keys, addKey } = newTestAuthenticator();
      const { generated, stored } = addKey();

      await sut.authenticate({ apiKey: generated.key });
      clock.now = T0 + 59_999;
      await sut.authenticate({ apiKey: generated.key });
      clock.now = T0 + 60_000;
      await sut.authenticate({ apiKey: generated.key });

      expect(keys.touches).toEqual([
        [stored.id, iso(T0)],
        [stored.id, iso(T0 + 60_000)],
      ]);
    });

    it('should not touch a key whose stored last use is recent', async () => {
      const { sut, keys, addKey } = newTestAuthenticator();
      const { generated } = addKey({ last_used_at: iso(T0 - 30_000) });

      await sut.authenticate({ apiKey: generated.key });

      expect(keys.touches).toEqual([]);
    });

    it('should report a failed last-use write without failing the request', async () => {
      const { sut, keys, touchErrors, addKey } = newTestAuthenticator();
      keys.touchFailure = new Error('disk full');

      await expect(sut.authenticate({ apiKey: addKey().generated.key })).resolves.toBeDefined();
      await flush();
      expect(touchErrors).toEqual([keys.touchFailure]);
    });

    it("should report a failed last-use write with the log context of the request the key came with", async () => {
      const { sut, keys, touchErrorRequests, addKey } = newTestAuthenticator();
      keys.touchFailure = new Error('disk full');
      const request = { requestId: 'req-touch-1' };

      await expect(sut.authenticateApiKey(addKey().generated.key, request)).resolves.toBeDefined();
      await flush();
      expect(touchErrorRequests).toEqual([request]);
    });

    it('should fail closed with AuthUnavailableError when the key store is down', async () => {
      const { sut, keys, addKey } = newTestAuthenticator();
      const { generated } = addKey();
      keys.failure = new Error('ECONNREFUSED');

      await expect(sut.authenticate({ apiKey: generated.key })).rejects.toMatchObject({
        constructor: AuthUnavailableError,
        dependency: 'key_store',
      });
    });
  });

  describe('with a token', () => {
    it('should authenticate a bearer token as its subject, role and tenant', async () => {
      const { sut, tokens } = newTestAuthenticator();
      const issued = tokens.sign({ subject: 'key:abcdefghij', role: 'viewer', tenant_id: 'acme' });

      await expect(sut.authenticate({ authorization: `Bearer ${issued.token}` })).resolves.toEqual({
        subject: 'key:abcdefghij',
        role: 'viewer',
        tenant_id: 'acme',
        via: 'jwt',
        token_id: issued.jti,
        expires_at: issued.expires_at,
      });
    });

    it('should pass on the token refusals: expired, revoked, wrong signature', async () => {
      const { sut, tokens, clock, revocations } = newTestAuthenticator();
      const { token } = tokens.sign({ subject: 's', role: 'admin', tenant_id: 'acme' });
      const other = new TokenService({ secret: `${SECRET}-other`, ttlSeconds: 600 }).sign({ subject: 's', role: 'admin', tenant_id: 'acme' });

      expect(await reasonOf(sut.authenticate({ authorization: `Bearer ${other.token}` }))).toBe('invalid_signature');
      revocations.status = { revoked: true, tenantNotBefore: null, subjectNotBefore: null };
      expect(await reasonOf(sut.authenticate({ authorization: `Bearer ${token}` }))).toBe('revoked');
      clock.now = T0 + 600_000;
      expect(await reasonOf(sut.authenticate({ authorization: `Bearer ${token}` }))).toBe('expired');
    });
  });

  describe('credentials', () => {
    it.each([
      ['nothing', {}, 'missing'],
      ['a Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'malformed'],
      ['a bare token without a scheme', { authorization: 'eyJ.eyJ.sig' }, 'malformed'],
      ['an empty bearer', { authorization: 'Bearer ' }, 'malformed'],
      ['a bearer with two values', { authorization: 'Bearer a b' }, 'malformed'],
      ['both headers at once', { authorization: 'Bearer x.y.z', apiKey: 'sk_x' }, 'malformed'],
      ['a JWT in X-API-Key', { apiKey: 'eyJ.eyJ.sig' }, 'malformed'],
    ])('should refuse %s as %s', async (_label, credentials, reason) => {
      const { sut } = newTestAuthenticator();

      expect(await reasonOf(sut.authenticate(credentials))).toBe(reason);
    });

    it('should classify the credential by its sk_ scheme', () => {
      const { sut } = newTestAuthenticator();

      expect(sut.credentialOf({ authorization: 'Bearer sk_abc' })).toEqual({ kind: 'api_key', value: 'sk_abc' });
      expect(sut.credentialOf({ authorization: 'Bearer a.b.c' })).toEqual({ kind: 'jwt', value: 'a.b.c' });
    });
  });
});
