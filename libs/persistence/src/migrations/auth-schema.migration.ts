import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

const timestampColumn = (name: string, isNullable = false) => ({ name, type: 'varchar', length: '32', isNullable });

/** Creates `api_keys` and `audit_log`: new tables only, so `createTable` rebuilds nothing on SQLite. */
export class AuthSchema1796000000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true, primaryKeyConstraintName: 'pk_api_keys' },
          { name: 'tenant_id', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'prefix', type: 'varchar', length: '16' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'role', type: 'varchar', length: '16' },
          timestampColumn('created_at'),
          timestampColumn('expires_at', true),
          timestampColumn('last_used_at', true),
          timestampColumn('revoked_at', true),
          { name: 'created_by', type: 'varchar', length: '128' },
        ],
        // Also the index behind the per-request lookup by prefix.
        uniques: [{ name: 'uq_api_keys_prefix', columnNames: ['prefix'] }],
      }),
    );
    await queryRunner.createIndex(
      'api_keys',
      new TableIndex({ name: 'idx_api_keys_tenant_id_created_at', columnNames: ['tenant_id', 'created_at'] }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
            primaryKeyConstraintName: 'pk_audit_log',
          },
          { name: 'tenant_id', type: 'varchar', length: '64' },
          timestampColumn('ts'),
          { name: 'actor', type: 'varchar', length: '128' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'target', type: 'varchar', length: '256' },
          { name: 'details', type: 'text' },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
        ],
      }),
    );
    // A tenant's log newest first, paged by id.
    await queryRunner.createIndex('audit_log', new TableIndex({ name: 'idx_audit_log_tenant_id_id', columnNames: ['tenant_id', 'id'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_log');
    await queryRunner.dropTable('api_keys');
  }
}
