import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { RunEntity } from './run.entity';

/** Table name of the run journal, shared by the entity, its migration and its repository. */
export const RUN_STEPS_TABLE = 'run_steps';

/** Row of `run_steps`, one journaled step of a run; `result` holds JSON text. */
@Entity({ name: RUN_STEPS_TABLE })
export class RunStepEntity {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_run_steps' })
  run_id!: string;

  // Declared only so the entity metadata carries the same foreign key as the migration; never loaded.
  @ManyToOne(() => RunEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'fk_run_steps_run_id' })
  run?: RunEntity;

  /** 1-based across the run's attempts. */
  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'pk_run_steps' })
  ordinal!: number;

  /** `tool`, `model` or `step`. */
  @Column({ type: 'varchar', length: 16 })
  kind!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'boolean' })
  ok!: boolean;

  /** JSON text of the result. */
  @Column({ type: 'text' })
  result!: string;

  @Column({ type: 'varchar', length: 32 })
  created_at!: string;
}
