import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/** Row of `api_keys`: the secret itself is never stored, only its SHA-256. */
@Entity({ name: 'api_keys' })
@Unique('uq_api_keys_prefix', ['prefix'])
@Index('idx_api_keys_tenant_id_created_at', ['tenant_id', 'created_at'])
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_api_keys' })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  tenant_id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  /** The public `<prefix>` of `sk_<prefix>_<secret>`, unique across tenants because lookups go by prefix alone. */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  /** SHA-256 hex of the secret. */
  @Column({ type: 'varchar', length: 64 })
  secret_hash!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: string;

  @Column({ type: 'varchar', length: 32 })
  created_at!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  expires_at!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  last_used_at!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  revoked_at!: string | null;

  /** Subject of the principal that created the key, or `bootstrap`. */
  @Column({ type: 'varchar', length: 128 })
  created_by!: string;
}
