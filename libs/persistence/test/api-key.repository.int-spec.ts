import { randomBytes } from 'node:crypto';

import { DATABASE_KINDS } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { ApiKeyRepository } from '../src';
import type { ApiKeyRecord } from '../src';
import { at, migratedDatabase } from './persistence-fixtures';

const ApiKeyFactory = {
  create(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
    return {
      id: newId(),
      name: 'ci-deploy',
      prefix: randomBytes(5).toString('hex'),
      role: 'operator',
      tenant_id: 'default',
      created_at: at(0),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      secret_hash: randomBytes(32).toString('hex'),
      created_by: 'key:bootstrap0',
      ...overrides,
    };
  },
};

function listed(key: ApiKeyRecord) {
  const { secret_hash: _hash, created_by: _by, ...visible } = key;
  return visible;
}

describe.each(DATABASE_KINDS)('ApiKeyRepository on %s', (kind) => {
  let sut: ApiKeyRepository;
  migratedDatabase(kind, 'persistence-api-keys', (dataSource) => {
    sut = new ApiKeyRepository(dataSource);
  });

  it('should find an inserted key by prefix with its hash, whatever the tenant', async () => {
    const key = ApiKeyFactory.create({ tenant_id: 'acme', expires_at: at(3600) });

    await expect(sut.insert(key)).resolves.toEqual(listed(key));
    await expect(sut.findByPrefix(key.prefix)).resolves.toEqual(key);
    await expect(sut.findByPrefix('zzzzzzzzzz')).resolves.toBeNull();
  });

  it('should find a key by id only within its tenant, without the hash', async () => {
    const key = ApiKeyFactory.create({ tenant_id: 'by-id' });
    await sut.insert(key);

    await expect(sut.findById('by-id', key.id)).resolves.toEqual(listed(key));
    await expect(sut.findById('someone-else', key.id)).resolves.toBeNull();
  });

  it('should refuse a second key with the same prefix, even in another tenant', async () => {
    const key = await sut.insert(ApiKeyFactory.create());

    await expect(sut.insert(ApiKeyFactory.create({ prefix: key.prefix, tenant_id: 'elsewhere' }))).rejects.toThrow();
  });

  it('should refuse a key that breaks the contract before writing it', async () => {
    for (const key of [ApiKeyFactory.create({ role: 'root' as 'admin' }), ApiKeyFactory.create({ secret_hash: 'plaintext' })]) {
      await expect(sut.insert(key)).rejects.toThrow();
      await expect(sut.findByPrefix(key.prefix)).resolves.toBeNull();
    }
  });

  it("should list only the tenant's keys, newest first, filtered by prefix on demand", async () => {
    const older = ApiKeyFactory.create({ tenant_id: 'listing', created_at: at(10) });
    const newer = ApiKeyFactory.create({ tenant_id: 'listing', created_at: at(20) });
    for (const key of [older, newer, ApiKeyFactory.create({ tenant_id: 'listing-other' })]) await sut.insert(key);

    await expect(sut.list('listing')).resolves.toEqual([listed(newer), listed(older)]);
    await expect(sut.list('listing', { prefix: older.prefix })).resolves.toEqual([listed(older)]);
    await expect(sut.list('nobody')).resolves.toEqual([]);
  });

  it('should revoke a key once, only within its tenant', async () => {
    const key = await sut.insert(ApiKeyFactory.create({ tenant_id: 'revoking' }));

    await expect(sut.revoke('someone-else', key.id, at(5))).resolves.toBe(false);
    await expect(sut.revoke('revoking', key.id, at(5))).resolves.toBe(true);
    await expect(sut.revoke('revoking', key.id, at(6))).resolves.toBe(false);
    await expect(sut.findById('revoking', key.id)).resolves.toMatchObject({ revoked_at: at(5) });
    await expect(sut.revoke('revoking', newId(), at(5))).resolves.toBe(false);
  });

  it('should record the last use', async () => {
    const key = await sut.insert(ApiKeyFactory.create());

    await sut.touch(key.id, at(42));

    await expect(sut.findById(key.tenant_id, key.id)).resolves.toMatchObject({ last_used_at: at(42) });
  });

  it('should tell whether a tenant has a usable key of a role', async () => {
    const tenant = 'active-check';
    await expect(sut.hasActive(tenant, 'admin', at(100))).resolves.toBe(false);

    const revoked = await sut.insert(ApiKeyFactory.create({ tenant_id: tenant, role: 'admin' }));
    await sut.revoke(tenant, revoked.id, at(1));
    await sut.insert(ApiKeyFactory.create({ tenant_id: tenant, role: 'admin', expires_at: at(50) }));
    await sut.insert(ApiKeyFactory.create({ tenant_id: tenant, role: 'operator' }));
    await expect(sut.hasActive(tenant, 'admin', at(100))).resolves.toBe(false);
    await expect(sut.hasActive(tenant, 'admin', at(49))).resolves.toBe(true);

    await sut.insert(ApiKeyFactory.create({ tenant_id: tenant, role: 'admin' }));
    await expect(sut.hasActive(tenant, 'admin', at(100))).resolves.toBe(true);
  });
});
