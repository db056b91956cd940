import { DEFAULT_TENANT } from '@skreaver/contracts';

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { ThreadEntity } from './thread.entity';

/** Row of `thread_checkpoints`: a thread as a completed run left it; `state` and `messages` hold JSON text. */
@Entity({ name: 'thread_checkpoints' })
@Index('uq_thread_checkpoints_thread_id_step', ['thread_id', 'step'], { unique: true })
@Index('uq_thread_checkpoints_thread_id_run_id', ['thread_id', 'run_id'], { unique: true })
export class ThreadCheckpointEntity {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_thread_checkpoints' })
  id!: string;

  @Column({ type: 'varchar', length: 64, default: DEFAULT_TENANT })
  tenant_id!: string;

  @Column({ type: 'varchar', length: 36 })
  thread_id!: string;

  // Declared only so the entity metadata carries the same foreign key as the migration; never loaded.
  @ManyToOne(() => ThreadEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'thread_id', foreignKeyConstraintName: 'fk_thread_checkpoints_thread_id' })
  thread?: ThreadEntity;

  @Column({ type: 'varchar', length: 36 })
  run_id!: string;

  @Column({ type: 'integer' })
  step!: number;

  @Column({ type: 'text' })
  state!: string;

  @Column({ type: 'text' })
  messages!: string;

  @Column({ type: 'varchar', length: 32 })
  created_at!: string;
}
