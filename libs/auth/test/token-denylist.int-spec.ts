import { randomUUID } from 'node:crypto';

import { isolatedRedis } from '@skreaver/testing';
import type { IsolatedRedis } from '@skreaver/testing';
import { createRedis, type RedisClient } from '@skreaver/messaging';

import { TokenDenylist } from '../src';

describe(TokenDenylist.name, () => {
  let isolated: IsolatedRedis;
  let redis: RedisClient;
  let sut: TokenDenylist;
  const nowSec = () => Date.now() / 1000;

  beforeAll(() => {
    isolated = isolatedRedis('auth-denylist');
    redis = createRedis(isolated.url);
    sut = new TokenDenylist(redis, isolated.prefix);
  });

  afterAll(async () => {
    await isolated.cleanup();
    redis.disconnect();
  });

  it('should deny a revoked jti until the token expires, then forget it', async () => {
    const jti = randomUUID();
    await sut.revoke('acme', jti, nowSec() + 30);

    await expect(sut.isRevoked('acme', jti)).resolves.toBe(true);
    await expect(sut.isRevoked('other', jti)).resolves.toBe(false);
    const key = `${isolated.prefix}:auth:{acme}:denied:${jti}`;
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(28_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('should store nothing for a token that has already expired', async () => {
    const jti = randomUUID();
    await sut.revoke('acme', jti, nowSec() - 1);

    await expect(sut.isRevoked('acme', jti)).resolves.toBe(false);
  });

  it('should keep the tenant cut-off without a TTL and never move it backwards', async () => {
    await expect(sut.notBefore('cutoff')).resolves.toBeNull();
    await sut.revokeAllBefore('cutoff', 2_000_000_000.5);
    await sut.revokeAllBefore('cutoff', 1_900_000_000);

    await expect(sut.notBefore('cutoff')).resolves.toBe(2_000_000_000.5);
    await expect(redis.ttl(`${isolated.prefix}:auth:{cutoff}:not-before`)).resolves.toBe(-1);
  });

  it('should report the jti, tenant and subject state in one check', async () => {
    const jti = randomUUID();
    await expect(sut.check('fresh', jti, 'key:abcdefghij')).resolves.toEqual({ revoked: false, tenantNotBefore: null, subjectNotBefore: null });

    await sut.revoke('fresh', jti, nowSec() + 60);
    await sut.revokeAllBefore('fresh', 1_800_000_000);
    await sut.revokeSubjectBefore('fresh', 'key:abcdefghij', 1_800_000_001, 120);

    await expect(sut.check('fresh', jti, 'key:abcdefghij')).resolves.toEqual({
      revoked: true,
      tenantNotBefore: 1_800_000_000,
      subjectNotBefore: 1_800_000_001,
    });
    await expect(sut.check('fresh', randomUUID(), 'key:other00000')).resolves.toEqual({
      revoked: false,
      tenantNotBefore: 1_800_000_000,
      subjectNotBefore: null,
    });
    const ttl = await redis.ttl(`${isolated.prefix}:auth:{fresh}:subject-not-before:key:abcdefghij`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });
});
