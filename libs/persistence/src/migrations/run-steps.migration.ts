import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/**
 * Creates `run_steps`, the run journal: one row per journaled step of a run, keyed by (run_id, ordinal) so a step
 * recorded twice (a worker killed between its write and its acknowledgement) is stored once. The foreign key is
 * declared inside `createTable` (SQLite cannot add one later without a rebuild); steps go with their run, and runs
 * with their agent.
 */
export class RunSteps1796300000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'run_steps',
        columns: [
          { name: 'run_id', type: 'varchar', length: '36', isPrimary: true, primaryKeyConstraintName: 'pk_run_steps' },
          { name: 'ordinal', type: 'integer', isPrimary: true, primaryKeyConstraintName: 'pk_run_steps' },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'ok', type: 'boolean' },
          { name: 'result', type: 'text' },
          { name: 'created_at', type: 'varchar', length: '32' },
        ],
        foreignKeys: [
          {
            name: 'fk_run_steps_run_id',
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
    await queryRunner.dropTable('run_steps');
  }
}
