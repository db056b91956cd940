import { DEFAULT_TENANT } from '@skreaver/contracts';

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { AgentEntity } from './agent.entity';

/** Table name of agent memory, shared by the entity, its migration and its repository. */
export const AGENT_MEMORY_TABLE = 'agent_memory';

/** Row of `agent_memory`, one key of an agent's key-value memory; `value` holds JSON text. */
@Entity({ name: AGENT_MEMORY_TABLE })
@Index('idx_agent_memory_expires_at', ['expires_at'])
export class AgentMemoryEntity {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_agent_memory' })
  agent_id!: string;

  // Declared only so the entity metadata carries the same foreign key as the migration; never loaded.
  @ManyToOne(() => AgentEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'agent_id', foreignKeyConstraintName: 'fk_agent_memory_agent_id' })
  agent?: AgentEntity;

  // PostgreSQL only (SQLite has no "C" and already compares bytes): key order, prefix ranges and `after` cursors
  // must follow bytes, not the database's locale, which may ignore punctuation such as `_` and `.`.
  @PrimaryColumn({ type: 'varchar', length: 256, collation: 'C', primaryKeyConstraintName: 'pk_agent_memory' })
  key!: string;

  @Column({ type: 'varchar', length: 64, default: DEFAULT_TENANT })
  tenant_id!: string;

  /** JSON text of the value. */
  @Column({ type: 'text' })
  value!: string;

  /** UTF-8 length of `value`. */
  @Column({ type: 'integer' })
  size_bytes!: number;

  @Column({ type: 'varchar', length: 32 })
  created_at!: string;

  @Column({ type: 'varchar', length: 32 })
  updated_at!: string;

  /** When the entry stops being visible; null: never. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  expires_at!: string | null;
}
