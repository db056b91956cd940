import { DEFAULT_TENANT } from '@skreaver/contracts';

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { AgentEntity } from './agent.entity';

/** Row of `runs`; `input`, `output` and `error` hold JSON text. */
@Entity({ name: 'runs' })
@Index('idx_runs_tenant_id_agent_id_created_at', ['tenant_id', 'agent_id', 'created_at'])
@Index('uq_runs_idempotency', ['tenant_id', 'agent_id', 'idempotency_key'], { unique: true })
@Index('idx_runs_agent_id_status', ['agent_id', 'status'])
@Index('idx_runs_status_created_at', ['status', 'created_at'])
// Partial (PartialRunIndexes): only waiting runs have an expiry, only a thread's turns a thread; their queries compare
// the column, which implies IS NOT NULL, so they still use these.
@Index('idx_runs_input_expires_at', ['input_expires_at'], { where: 'input_expires_at IS NOT NULL' })
@Index('idx_runs_thread_id_status', ['thread_id', 'status'], { where: 'thread_id IS NOT NULL' })
@Index('idx_runs_tenant_id_status_created_at_id', ['tenant_id', 'status', 'created_at', 'id'])
@Index('idx_runs_tenant_id_created_at_id', ['tenant_id', 'created_at', 'id'])
export class RunEntity {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_runs' })
  id!: string;

  @Column({ type: 'varchar', length: 64, default: DEFAULT_TENANT })
  tenant_id!: string;

  @Column({ type: 'varchar', length: 36 })
  agent_id!: string;

  // Declared only so the entity metadata carries the same foreign key as the migration; never loaded.
  @ManyToOne(() => AgentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'agent_id', foreignKeyConstraintName: 'fk_runs_agent_id' })
  agent?: AgentEntity;

  @Column({ type: 'varchar', length: 16 })
  status!: string;

  @Column({ type: 'varchar', length: 16 })
  source!: string;

  @Column({ type: 'text' })
  input!: string;

  @Column({ type: 'text', nullable: true })
  output!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ type: 'varchar', length: 255, nullable: true })
  idempotency_key!: string | null;

  /** SHA-256 of the request that carried the idempotency key, to tell a retry from a reused key. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  request_hash!: string | null;

  /** Tokens of the run's model calls (JSON text), NULL when it made none. */
  @Column({ type: 'text', nullable: true })
  usage!: string | null;
  /** The thread the run is a turn of; no foreign key: a deleted thread's runs stay readable. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  thread_id!: string | null;

  @Column({ type: 'varchar', length: 32 })
  created_at!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  started_at!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  finished_at!: string | null;

  /** JSON array of what a `waiting_input` run waits for; null otherwise. */
  @Column({ type: 'text', nullable: true })
  pending_inputs!: string | null;

  /** Earliest `expires_at` of `pending_inputs`, for the expiry sweeper; null when the run waits for nothing. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  input_expires_at!: string | null;

  /** JSON object of the answers given so far, by input id (never in the API's `Run`: the replay reads them). */
  @Column({ type: 'text', nullable: true })
  input_answers!: string | null;
}
