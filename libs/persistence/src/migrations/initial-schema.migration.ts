import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

const tenantColumn = { name: 'tenant_id', type: 'varchar', length: '64', default: "'default'" };
const timestampColumn = (name: string, isNullable = false) => ({ name, type: 'varchar', length: '32', isNullable });

/**
 * Creates `agents`, `runs` and `run_events`. Foreign keys are declared inside `createTable` rather than with
 * `createForeignKey`: SQLite cannot add a constraint to an existing table, so TypeORM would rebuild the table.
 */
export class InitialSchema1795854060241 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'agents',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true, primaryKeyConstraintName: 'pk_agents' },
          tenantColumn,
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'kind', type: 'varchar', length: '32' },
          { name: 'config', type: 'text' },
          { name: 'status', type: 'varchar', length: '16' },
          timestampColumn('created_at'),
          timestampColumn('updated_at'),
          timestampColumn('last_activity', true),
        ],
      }),
    );
    await queryRunner.createIndex(
      'agents',
      new TableIndex({ name: 'idx_agents_tenant_id_created_at', columnNames: ['tenant_id', 'created_at'] }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'runs',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true, primaryKeyConstraintName: 'pk_runs' },
          tenantColumn,
          { name: 'agent_id', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'source', type: 'varchar', length: '16' },
          { name: 'input', type: 'text' },
          { name: 'output', type: 'text', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'attempts', type: 'integer', default: 0 },
          timestampColumn('created_at'),
          timestampColumn('started_at', true),
          timestampColumn('finished_at', true),
        ],
        foreignKeys: [
          {
            name: 'fk_runs_agent_id',
            columnNames: ['agent_id'],
            referencedTableName: 'agents',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
    await queryRunner.createIndex(
      'runs',
      new TableIndex({
        name: 'idx_runs_tenant_id_agent_id_created_at',
        columnNames: ['tenant_id', 'agent_id', 'created_at'],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'run_events',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true, primaryKeyConstraintName: 'pk_run_events' },
          tenantColumn,
          { name: 'run_id', type: 'varchar', length: '36' },
          { name: 'agent_id', type: 'varchar', length: '36' },
          { name: 'seq', type: 'integer' },
          { name: 'type', type: 'varchar', length: '32' },
          timestampColumn('ts'),
          { name: 'data', type: 'text' },
        ],
        // Also the index behind "a run's events in seq order".
        uniques: [{ name: 'uq_run_events_run_id_seq', columnNames: ['run_id', 'seq'] }],
        foreignKeys: [
          {
            name: 'fk_run_events_run_id',
            columnNames: ['run_id'],
            referencedTableName: 'runs',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Children first, so no foreign key ever points at a dropped table.
    await queryRunner.dropTable('run_events');
    await queryRunner.dropTable('runs');
    await queryRunner.dropTable('agents');
  }
}
