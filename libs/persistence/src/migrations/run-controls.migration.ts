import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Adds the agent's concurrency policy and runs' idempotency keys. Plain `ALTER TABLE … ADD COLUMN`, which SQLite
 * and PostgreSQL both run in place: TypeORM's `addColumn` would rebuild the SQLite table, and dropping the old one
 * with foreign keys on would cascade into `run_events`.
 */
export class RunControls1795900000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE agents ADD COLUMN concurrency text NOT NULL DEFAULT '{"policy":"enqueue","max_concurrency":1}'`,
    );
    await queryRunner.query('ALTER TABLE runs ADD COLUMN idempotency_key varchar(255)');
    await queryRunner.query('ALTER TABLE runs ADD COLUMN request_hash varchar(64)');
    // NULL keys never collide (both engines treat NULLs as distinct), so runs without a key are unconstrained.
    await queryRunner.query(
      'CREATE UNIQUE INDEX uq_runs_idempotency ON runs (tenant_id, agent_id, idempotency_key)',
    );
    await queryRunner.query('CREATE INDEX idx_runs_agent_id_status ON runs (agent_id, status)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX idx_runs_agent_id_status');
    await queryRunner.query('DROP INDEX uq_runs_idempotency');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN request_hash');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN idempotency_key');
    await queryRunner.query('ALTER TABLE agents DROP COLUMN concurrency');
  }
}
