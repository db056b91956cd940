import { randomUUID } from 'node:crypto';

import { JwtClaims } from '@skreaver/contracts';
import jwt from 'jsonwebtoken';

import { AuthError, AuthUnavailableError } from './auth-error';
import type { RevocationList, RevocationStatus } from './token-denylist';
import { TokenService } from './token.service';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SUBJECT = { subject: 'key:abcdefghij', role: 'operator', tenant_id: 'acme' } as const;

class FakeRevocations implements RevocationList {
  status: RevocationStatus = { revoked: false, tenantNotBefore: null, subjectNotBefore: null };
  failure: Error | undefined;
  readonly calls: string[][] = [];

  async check(tenantId: string, jti: string, subject: string): Promise<RevocationStatus> {
    this.calls.push([tenantId, jti, subject]);
    if (this.failure) throw this.failure;
    return this.status;
  }
}

function newTestService(overrides: { ttlSeconds?: number; secret?: string } = {}) {
  const clock = { now: T0 };
  const revocations = new FakeRevocations();
  const sut = new TokenService({
    secret: overrides.secret ?? SECRET,
    ttlSeconds: overrides.ttlSeconds ?? 3600,
    revocations,
    now: () => clock.now,
  });
  return { sut, clock, revocations };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function claims(overrides: Partial<JwtClaims> = {}): JwtClaims {
  return { sub: 'key:abcdefghij', role: 'admin', tenant: 'acme', jti: randomUUID(), iat: T0 / 1000, exp: T0 / 1000 + 60, ...overrides };
}

async function authErrorOf(promise: Promise<unknown> | (() => unknown)): Promise<AuthError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
  throw new Error('expected an AuthError');
}

describe(TokenService.name, () => {
  it('should sign an HS256 token carrying sub, role, tenant, jti, iat and exp', () => {
    const { sut } = newTestService();

    const issued = sut.sign(SUBJECT);
    const [header] = issued.token.split('.');

    expect(JSON.parse(Buffer.from(header ?? '', 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(jwt.decode(issued.token)).toEqual({
      sub: 'key:abcdefghij',
      role: 'operator',
      tenant: 'acme',
      jti: issued.jti,
      iat: T0 / 1000,
      exp: T0 / 1000 + 3600,
    });
    expect(issued).toMatchObject({ expires_at: new Date(T0 + 3_600_000).toISOString(), expires_in: 3600 });
  });

  it('should verify its own token back to the claims and check revocation once', async () => {
    const { sut, revocations } = newTestService();
    const issued = sut.sign(SUBJECT);

    await expect(sut.verify(issued.token)).resolves.toMatchObject({ sub: SUBJECT.subject, role: 'operator', tenant: 'acme', jti: issued.jti });
    expect(revocations.calls).toEqual([['acme', issued.jti, SUBJECT.subject]]);
  });

  it('should never let a token outlive the key it was minted from', () => {
    const { sut } = newTestService();
    const keyExpiry = new Date(T0 + 90_000).toISOString();

    const issued = sut.sign({ ...SUBJECT, expires_at: keyExpiry });

    expect(issued).toMatchObject({ expires_at: keyExpiry, expires_in: 90 });
  });

  it('should refuse to mint a token from an expired key', async () => {
    const { sut } = newTestService();

    expect((await authErrorOf(() => sut.sign({ ...SUBJECT, expires_at: new Date(T0).toISOString() }))).reason).toBe('expired_key');
  });

  it('should accept a token until its exp and refuse it from then on as expired', async () => {
    const { sut, clock } = newTestService({ ttlSeconds: 60 });
    const { token } = sut.sign(SUBJECT);

    clock.now = T0 + 59_999;
    await expect(sut.verify(token)).resolves.toBeDefined();
    clock.now = T0 + 60_000;
    expect((await authErrorOf(sut.verify(token))).reason).toBe('expired');
  });

  it('should refuse an unsigned alg:none token', async () => {
    const { sut } = newTestService();
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims())}.`;

    expect((await authErrorOf(sut.verify(unsigned))).reason).toBe('invalid_signature');
    expect((await authErrorOf(sut.verify(unsigned.slice(0, -1)))).reason).toBe('malformed');
  });

  it('should refuse an alg:none token that carries a signature anyway', async () => {
    const { sut } = newTestService();
    const signed = sut.sign(SUBJECT).token.split('.');
    const forged = `${base64url({ alg: 'none', typ: 'JWT' })}.${signed[1]}.${signed[2]}`;

    expect((await authErrorOf(sut.verify(forged))).reason).toBe('invalid_signature');
  });

  it('should refuse a token signed with another secret', async () => {
    const { sut } = newTestService();
    const other = newTestService({ secret: 'another-secret-0123456789-abcdefghijklmnop' }).sut;

    expect((await authErrorOf(sut.verify(other.sign(SUBJECT).token))).reason).toBe('invalid_signature');
  });

  it('should refuse HS384/HS512 and RS256-labelled tokens even when HMAC-signed with the secret', async () => {
    const { sut } = newTestService();

    for (const algorithm of ['HS384', 'HS512'] as const) {
      const token = jwt.sign(claims(), SECRET, { algorithm });
      expect((await authErrorOf(sut.verify(token))).reason).toBe('invalid_signature');
    }
    const rsLabelled = jwt.sign(claims(), SECRET, { algorithm: 'HS256' }).split('.');
    const confused = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${rsLabelled[1]}.${rsLabelled[2]}`;
    expect((await authErrorOf(sut.verify(confused))).reason).toBe('invalid_signature');
  });

  it('should refuse a token whose payload was altered after signing', async () => {
    const { sut } = newTestService();
    const [header, , signature] = sut.sign(SUBJECT).token.split('.');
    const escalated = `${header}.${base64url(claims({ role: 'admin' }))}.${signature}`;

    expect((await authErrorOf(sut.verify(escalated))).reason).toBe('invalid_signature');
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['two segments', 'a.b'],
    ['undecodable segments', '!!!.???.***'],
    ['an oversized token', `${'a'.repeat(3000)}.${'b'.repeat(3000)}.c`],
  ])('should refuse %s as malformed', async (_label, token) => {
    const { sut } = newTestService();

    expect((await authErrorOf(sut.verify(token))).reason).toBe('malformed');
  });

  it('should refuse a correctly signed token whose claims do not match the contract', async () => {
    const { sut } = newTestService();

    for (const payload of [{ ...claims(), role: 'root' }, { ...claims(), extra: true }, { sub: 'x', exp: T0 / 1000 + 60 }]) {
      const token = jwt.sign(payload, SECRET, { algorithm: 'HS256' });
      expect((await authErrorOf(sut.verify(token))).reason).toBe('malformed');
    }
  });

  it('should refuse a token whose jti is on the denylist', async () => {
    const { sut, revocations } = newTestService();
    const { token } = sut.sign(SUBJECT);
    revocations.status = { revoked: true, tenantNotBefore: null, subjectNotBefore: null };

    expect((await authErrorOf(sut.verify(token))).reason).toBe('revoked');
  });

  it('should refuse tokens issued at or before a tenant or subject cut-off and accept later ones', async () => {
    const { sut, clock, revocations } = newTestService();
    const before = sut.sign(SUBJECT).token;
    clock.now = T0 + 1;
    const after = sut.sign(SUBJECT).token;

    for (const status of [
      { revoked: false, tenantNotBefore: T0 / 1000, subjectNotBefore: null },
      { revoked: false, tenantNotBefore: null, subjectNotBefore: T0 / 1000 },
    ]) {
      revocations.status = status;
      expect((await authErrorOf(sut.verify(before))).reason).toBe('revoked');
      await expect(sut.verify(after)).resolves.toBeDefined();
    }
  });

  it('should fail closed with AuthUnavailableError when the denylist cannot be read', async () => {
    const { sut, revocations } = newTestService();
    revocations.failure = new Error('connection refused');

    await expect(sut.verify(sut.sign(SUBJECT).token)).rejects.toBeInstanceOf(AuthUnavailableError);
  });

  it('should check signature and expiry without the denylist in verifySignature', () => {
    const { sut, revocations } = newTestService();
    revocations.failure = new Error('not consulted');
    const issued = sut.sign(SUBJECT);

    expect(sut.verifySignature(issued.token).jti).toBe(issued.jti);
  });

  it('should verify a token once and then check only its expiry and the denylist on every use', async () => {
    const { sut, clock, revocations } = newTestService({ ttlSeconds: 60 });
    const { token } = sut.sign(SUBJECT);
    const verify = jest.spyOn(jwt, 'verify');
    try {
      const first = await sut.verify(token);
      clock.now = T0 + 59_999;
      expect(await sut.verify(token)).toBe(first);
      expect(verify).toHaveBeenCalledTimes(1);
      expect(revocations.calls).toHaveLength(2);

      revocations.status = { revoked: true, tenantNotBefore: null, subjectNotBefore: null };
      expect((await authErrorOf(sut.verify(token))).reason).toBe('revoked');
      revocations.status = { revoked: false, tenantNotBefore: null, subjectNotBefore: null };
      clock.now = T0 + 60_000;
      expect((await authErrorOf(sut.verify(token))).reason).toBe('expired');
      expect((await authErrorOf(sut.verify(token))).reason).toBe('expired');
    } finally {
      verify.mockRestore();
    }
  });

  it('should not remember a token that failed verification', async () => {
    const { sut } = newTestService();
    const other = newTestService({ secret: 'another-secret-0123456789-abcdefghijklmnop' }).sut.sign(SUBJECT).token;

    expect((await authErrorOf(sut.verify(other))).reason).toBe('invalid_signature');
    expect((await authErrorOf(sut.verify(other))).reason).toBe('invalid_signature');
  });

  it('should refuse a secret shorter than 32 characters', () => {
    expect(() => newTestService({ secret: 'x'.repeat(31) })).toThrow('at least 32 characters');
  });
});
