import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two indexes of `runs` hold only the rows that have their column set: `thread_id` is NULL for every run that is no
 * thread's turn, `input_expires_at` for every run not waiting for input, yet the full indexes took an entry on every
 * insert and (thread_id, status) rewrote it on every status change. Every query that reads them compares that column
 * (`thread_id = ?`, `input_expires_at <= ?`), which implies `IS NOT NULL` for both SQLite's and PostgreSQL's planners,
 * so each still finds its rows through the same index; large-tenant-plans.int-spec.ts checks the plans.
 *
 * Not made partial: `idx_runs_status_created_at` (the retention sweep walks it for finished statuses),
 * `idx_runs_agent_id_status` (the only index starting with `agent_id`, which deleting an agent's runs by its foreign
 * key needs whatever their status) and `idx_runs_tenant_id_status_created_at_id` (GET /runs?status= for any status).
 *
 * Same names, so the entity and docs keep naming them. Rebuilding reads the whole table once per index inside the
 * migration transaction (on PostgreSQL writes to `runs` wait for it, seconds per million rows).
 */
const PARTIAL_INDEXES = [
  { name: 'idx_runs_thread_id_status', columns: 'thread_id, status', where: 'thread_id IS NOT NULL' },
  { name: 'idx_runs_input_expires_at', columns: 'input_expires_at', where: 'input_expires_at IS NOT NULL' },
] as const;

export class PartialRunIndexes1796800000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of PARTIAL_INDEXES) {
      await queryRunner.query(`DROP INDEX ${index.name}`);
      await queryRunner.query(`CREATE INDEX ${index.name} ON runs (${index.columns}) WHERE ${index.where}`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...PARTIAL_INDEXES].reverse()) {
      await queryRunner.query(`DROP INDEX ${index.name}`);
      await queryRunner.query(`CREATE INDEX ${index.name} ON runs (${index.columns})`);
    }
  }
}
