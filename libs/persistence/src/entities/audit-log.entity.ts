import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Row of `audit_log`; `details` holds JSON text. Ids come from the database, so they order entries by insertion. */
@Entity({ name: 'audit_log' })
@Index('idx_audit_log_tenant_id_id', ['tenant_id', 'id'])
@Index('idx_audit_log_ts', ['ts'])
export class AuditLogEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer', primaryKeyConstraintName: 'pk_audit_log' })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  tenant_id!: string;

  @Column({ type: 'varchar', length: 32 })
  ts!: string;

  @Column({ type: 'varchar', length: 128 })
  actor!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 256 })
  target!: string;

  @Column({ type: 'text' })
  details!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  request_id!: string | null;
}
