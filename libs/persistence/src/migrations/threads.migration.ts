import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

const timestampColumn = (name: string) => ({ name, type: 'varchar', length: '32' });

/**
 * Threads (conversations with an agent) and their checkpoints, and `runs.thread_id`. New tables with their foreign
 * keys declared inside `createTable` (SQLite rebuilds nothing); the run column is a plain `ALTER TABLE … ADD COLUMN`
 * without a foreign key, so a deleted thread's runs stay readable.
 */
export class Threads1796500000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'threads',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true, primaryKeyConstraintName: 'pk_threads' },
          { name: 'tenant_id', type: 'varchar', length: '64', default: "'default'" },
          { name: 'agent_id', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'metadata', type: 'text' },
          { name: 'double_texting', type: 'varchar', length: '16', isNullable: true },
          { name: 'state', type: 'text' },
          { name: 'messages', type: 'text' },
          { name: 'message_count', type: 'integer', default: 0 },
          { name: 'turns', type: 'integer', default: 0 },
          { name: 'forked_from', type: 'text', isNullable: true },
          timestampColumn('created_at'),
          timestampColumn('updated_at'),
        ],
        foreignKeys: [
          { name: 'fk_threads_agent_id', columnNames: ['agent_id'], referencedTableName: 'agents', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
      }),
    );
    await queryRunner.createIndex('threads', new TableIndex({ name: 'idx_threads_tenant_id_created_at', columnNames: ['tenant_id', 'created_at'] }));
    await queryRunner.createIndex('threads', new TableIndex({ name: 'idx_threads_agent_id', columnNames: ['agent_id'] }));
    await queryRunner.createTable(
      new Table({
        name: 'thread_checkpoints',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true, primaryKeyConstraintName: 'pk_thread_checkpoints' },
          { name: 'tenant_id', type: 'varchar', length: '64', default: "'default'" },
          { name: 'thread_id', type: 'varchar', length: '36' },
          { name: 'run_id', type: 'varchar', length: '36' },
          { name: 'step', type: 'integer' },
          { name: 'state', type: 'text' },
          { name: 'messages', type: 'text' },
          timestampColumn('created_at'),
        ],
        foreignKeys: [
          {
            name: 'fk_thread_checkpoints_thread_id',
            columnNames: ['thread_id'],
            referencedTableName: 'threads',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
    await queryRunner.createIndex(
      'thread_checkpoints',
      new TableIndex({ name: 'uq_thread_checkpoints_thread_id_step', columnNames: ['thread_id', 'step'], isUnique: true }),
    );
    await queryRunner.createIndex(
      'thread_checkpoints',
      new TableIndex({ name: 'uq_thread_checkpoints_thread_id_run_id', columnNames: ['thread_id', 'run_id'], isUnique: true }),
    );
    await queryRunner.query('ALTER TABLE runs ADD COLUMN thread_id varchar(36)');
    await queryRunner.query('CREATE INDEX idx_runs_thread_id_status ON runs (thread_id, status)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX idx_runs_thread_id_status');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN thread_id');
    await queryRunner.dropTable('thread_checkpoints');
    await queryRunner.dropTable('threads');
  }
}
