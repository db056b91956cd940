import { DEFAULT_TENANT } from '@skreaver/contracts';

import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Row of `agents`; JSON and timestamps are text so one schema serves SQLite and PostgreSQL. */
@Entity({ name: 'agents' })
@Index('idx_agents_tenant_id_created_at', ['tenant_id', 'created_at'])
@Index('idx_agents_tenant_id_status_created_at_id', ['tenant_id', 'status', 'created_at', 'id'])
@Index('idx_agents_tenant_id_kind_created_at_id', ['tenant_id', 'kind', 'created_at', 'id'])
export class AgentEntity {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_agents' })
  id!: string;

  @Column({ type: 'varchar', length: 64, default: DEFAULT_TENANT })
  tenant_id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 32 })
  kind!: string;

  /** JSON text of the agent's config object. */
  @Column({ type: 'text' })
  config!: string;

  /** JSON text of the agent's concurrency policy. */
  @Column({ type: 'text', default: '{"policy":"enqueue","max_concurrency":1}' })
  concurrency!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: string;

  @Column({ type: 'varchar', length: 32 })
  created_at!: string;

  @Column({ type: 'varchar', length: 32 })
  updated_at!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  last_activity!: string | null;
}
