import { DEFAULT_TENANT } from '@skreaver/contracts';

import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';

import { RunEntity } from './run.entity';

/** Row of `run_events`, the durable archive of every run's event log; `data` holds JSON text. */
@Entity({ name: 'run_events' })
@Unique('uq_run_events_run_id_seq', ['run_id', 'seq'])
export class RunEventEntity {
  /** The event id `<run_id>:<seq>`, so a retried append is recognised as a duplicate. */
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_run_events' })
  id!: string;

  @Column({ type: 'varchar', length: 64, default: DEFAULT_TENANT })
  tenant_id!: string;

  @Column({ type: 'varchar', length: 36 })
  run_id!: string;

  // Declared only so the entity metadata carries the same foreign key as the migration; never loaded.
  @ManyToOne(() => RunEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'fk_run_events_run_id' })
  run?: RunEntity;

  @Column({ type: 'varchar', length: 36 })
  agent_id!: string;

  @Column({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 32 })
  type!: string;

  @Column({ type: 'varchar', length: 32 })
  ts!: string;

  @Column({ type: 'text' })
  data!: string;
}
