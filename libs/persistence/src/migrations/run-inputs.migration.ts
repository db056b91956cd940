import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Human input: what a `waiting_input` run waits for (`pending_inputs`, JSON), the earliest of those waits' ends
 * (`input_expires_at`, indexed so the expiry sweeper finds the expired waits without scanning), and the answers given
 * so far (`input_answers`, JSON by input id), which a resumed run replays with. Plain `ADD COLUMN` (see RunControls).
 */
export class RunInputs1796400000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE runs ADD COLUMN pending_inputs text');
    await queryRunner.query('ALTER TABLE runs ADD COLUMN input_expires_at varchar(32)');
    await queryRunner.query('ALTER TABLE runs ADD COLUMN input_answers text');
    await queryRunner.query('CREATE INDEX idx_runs_input_expires_at ON runs (input_expires_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX idx_runs_input_expires_at');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN input_answers');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN input_expires_at');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN pending_inputs');
  }
}
