import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

const timestampColumn = (name: string, isNullable = false) => ({ name, type: 'varchar', length: '32', isNullable });

/**
 * Creates `agent_memory`, each agent's JSON key-value store. A new table with its foreign key declared inside
 * `createTable`, so SQLite rebuilds nothing. On PostgreSQL the key column is `COLLATE "C"`: listing in key order,
 * prefix ranges and `after` cursors rely on bytewise comparison, which is what SQLite's default BINARY does.
 */
export class AgentMemory1796100000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    const bytewise = queryRunner.connection.driver.options.type === 'postgres' ? { collation: 'C' } : {};
    await queryRunner.createTable(
      new Table({
        name: 'agent_memory',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', default: "'default'" },
          { name: 'agent_id', type: 'varchar', length: '36', isPrimary: true, primaryKeyConstraintName: 'pk_agent_memory' },
          {
            name: 'key',
            type: 'varchar',
            length: '256',
            isPrimary: true,
            primaryKeyConstraintName: 'pk_agent_memory',
            ...bytewise,
          },
          { name: 'value', type: 'text' },
          { name: 'size_bytes', type: 'integer' },
          timestampColumn('created_at'),
          timestampColumn('updated_at'),
          timestampColumn('expires_at', true),
        ],
        foreignKeys: [
          {
            name: 'fk_agent_memory_agent_id',
            columnNames: ['agent_id'],
            referencedTableName: 'agents',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
    // The expiry sweep deletes the oldest expired entries first, in batches.
    await queryRunner.createIndex('agent_memory', new TableIndex({ name: 'idx_agent_memory_expires_at', columnNames: ['expires_at'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('agent_memory');
  }
}
