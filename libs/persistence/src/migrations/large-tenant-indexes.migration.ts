import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The indexes that keep a large tenant's list pages (100,000 agents, 1,000,000 runs) as fast as a small one's: every
 * list is `tenant_id = ? [AND filter = ?] ORDER BY created_at DESC, id DESC` after a `(created_at, id)` cursor, so
 * each gets an index in exactly that order (equality columns first, then the sort and cursor columns), which
 * PostgreSQL and SQLite read backwards and stop after one page. `audit_log (ts)` lets the retention sweep find expired
 * entries without reading the young ones.
 *
 * Plain `CREATE INDEX`, inside the migration transaction like every other migration (TypeORM's `all` mode forbids a
 * migration that opts out, and `CONCURRENTLY` cannot run in a transaction). On PostgreSQL that blocks writes to the
 * table while the index builds (seconds per million rows); a large existing deployment avoids it by building the
 * indexes beforehand with `CREATE INDEX CONCURRENTLY IF NOT EXISTS` under these names (docs/operating.md), which
 * turns this migration into a no-op: hence `IF NOT EXISTS`.
 */
export const LARGE_TENANT_INDEXES = [
  // GET /runs?status=… (and the dead-letter list, status=failed).
  'idx_runs_tenant_id_status_created_at_id ON runs (tenant_id, status, created_at, id)',
  // GET /runs without a status filter.
  'idx_runs_tenant_id_created_at_id ON runs (tenant_id, created_at, id)',
  // GET /agents?status=… and ?kind=….
  'idx_agents_tenant_id_status_created_at_id ON agents (tenant_id, status, created_at, id)',
  'idx_agents_tenant_id_kind_created_at_id ON agents (tenant_id, kind, created_at, id)',
  // Retention of the audit log.
  'idx_audit_log_ts ON audit_log (ts)',
] as const;

export class LargeTenantIndexes1796700000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of LARGE_TENANT_INDEXES) await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${index}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...LARGE_TENANT_INDEXES].reverse()) await queryRunner.query(`DROP INDEX IF EXISTS ${index.split(' ')[0]}`);
  }
}
