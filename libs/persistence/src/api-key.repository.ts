import { ApiKey, Role, Timestamp } from '@skreaver/contracts';
import type { ApiKeyPrefix } from '@skreaver/contracts';

import { DataSource, IsNull, Repository } from 'typeorm';
import { z } from 'zod';

import { ApiKeyEntity } from './entities/api-key.entity';

// The stored form is no wire contract, so its schema lives next to the only code that writes and reads it.
const StoredApiKeySchema = ApiKey.extend({
  secret_hash: z.string().regex(/^[0-9a-f]{64}$/, 'SHA-256 hex'),
  created_by: z.string().min(1).max(128),
});

/** An API key as stored: the listing fields plus the secret's hash and who created it. */
export type ApiKeyRecord = z.infer<typeof StoredApiKeySchema>;

/**
 * Reads and writes API keys. Listings never carry the hash. Its `findByPrefix` and `touch` fit the authenticator's
 * `ApiKeyStore` port, which the services bind to it (persistence does not know the auth library).
 */
export class ApiKeyRepository {
  private readonly rows: Repository<ApiKeyEntity>;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(ApiKeyEntity);
  }

  /** Stores a new key. @throws when the id or prefix exists, or the key does not match the contract. */
  async insert(key: ApiKeyRecord): Promise<ApiKey> {
    const valid = StoredApiKeySchema.parse(key);
    await this.rows.createQueryBuilder().insert().values(toRow(valid)).updateEntity(false).execute();
    return ApiKey.parse(valid);
  }

  async findByPrefix(prefix: string): Promise<ApiKeyRecord | null> {
    const row = await this.rows.findOneBy({ prefix });
    return row ? toStored(row) : null;
  }

  /** The key `id` of `tenantId`, or null (also when it belongs to another tenant). */
  async findById(tenantId: string, id: string): Promise<ApiKey | null> {
    const row = await this.rows.findOneBy({ tenant_id: tenantId, id });
    return row ? toApiKey(row) : null;
  }

  /** A tenant's keys, newest first, optionally only the one with `prefix`. */
  async list(tenantId: string, options: { prefix?: ApiKeyPrefix } = {}): Promise<ApiKey[]> {
    const rows = await this.rows.find({
      where: { tenant_id: tenantId, ...(options.prefix ? { prefix: options.prefix } : {}) },
      order: { created_at: 'DESC', id: 'DESC' },
    });
    return rows.map(toApiKey);
  }

  /** Whether `tenantId` has a key of `role` that is neither revoked nor expired at `at`. */
  async hasActive(tenantId: string, role: Role, at: string): Promise<boolean> {
    const count = await this.rows
      .createQueryBuilder('k')
      .where('k.tenant_id = :tenantId AND k.role = :role AND k.revoked_at IS NULL', { tenantId, role: Role.parse(role) })
      // ISO-8601 UTC strings of one format sort like the instants they name.
      .andWhere('(k.expires_at IS NULL OR k.expires_at > :at)', { at: Timestamp.parse(at) })
      .getCount();
    return count > 0;
  }

  /** Sets `revoked_at` on a key of `tenantId` that is not revoked yet. @returns false when there was none. */
  async revoke(tenantId: string, id: string, at: string): Promise<boolean> {
    const result = await this.rows
      .createQueryBuilder()
      .update()
      .set({ revoked_at: Timestamp.parse(at) })
      .where({ tenant_id: tenantId, id, revoked_at: IsNull() })
      .updateEntity(false)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async touch(id: string, at: string): Promise<void> {
    await this.rows.createQueryBuilder().update().set({ last_used_at: Timestamp.parse(at) }).where({ id }).updateEntity(false).execute();
  }
}

function toRow(key: ApiKeyRecord): ApiKeyEntity {
  return {
    id: key.id,
    tenant_id: key.tenant_id,
    name: key.name,
    prefix: key.prefix,
    secret_hash: key.secret_hash,
    role: key.role,
    created_at: key.created_at,
    expires_at: key.expires_at,
    last_used_at: key.last_used_at,
    revoked_at: key.revoked_at,
    created_by: key.created_by,
  };
}

function toApiKey(row: ApiKeyEntity): ApiKey {
  return ApiKey.parse({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    tenant_id: row.tenant_id,
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  });
}

function toStored(row: ApiKeyEntity): ApiKeyRecord {
  return StoredApiKeySchema.parse({ ...toApiKey(row), secret_hash: row.secret_hash, created_by: row.created_by });
}
