import { DEFAULT_TENANT } from '@skreaver/contracts';

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { AgentEntity } from './agent.entity';

/** Row of `threads`, one conversation with an agent; `metadata`, `state`, `messages` and `forked_from` hold JSON text. */
@Entity({ name: 'threads' })
@Index('idx_threads_tenant_id_created_at', ['tenant_id', 'created_at'])
@Index('idx_threads_agent_id', ['agent_id'])
export class ThreadEntity {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_threads' })
  id!: string;

  @Column({ type: 'varchar', length: 64, default: DEFAULT_TENANT })
  tenant_id!: string;

  @Column({ type: 'varchar', length: 36 })
  agent_id!: string;

  // Declared only so the entity metadata carries the same foreign key as the migration; never loaded.
  @ManyToOne(() => AgentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'agent_id', foreignKeyConstraintName: 'fk_threads_agent_id' })
  agent?: AgentEntity;

  @Column({ type: 'varchar', length: 16 })
  status!: string;

  @Column({ type: 'text' })
  metadata!: string;

  @Column({ type: 'varchar', length: 16, nullable: true })
  double_texting!: string | null;

  /** JSON text of the agent's state. */
  @Column({ type: 'text' })
  state!: string;

  /** JSON text of the conversation, oldest message first. */
  @Column({ type: 'text' })
  messages!: string;

  @Column({ type: 'integer', default: 0 })
  message_count!: number;

  @Column({ type: 'integer', default: 0 })
  turns!: number;

  @Column({ type: 'text', nullable: true })
  forked_from!: string | null;

  @Column({ type: 'varchar', length: 32 })
  created_at!: string;

  @Column({ type: 'varchar', length: 32 })
  updated_at!: string;
}
