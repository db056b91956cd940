import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes runs by status and age, so the coordinators' reconciler finds the open runs (queued, running) of every
 * tenant without scanning the finished ones, however many runs the table holds.
 */
export class OpenRunsIndex1796200000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX idx_runs_status_created_at ON runs (status, created_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX idx_runs_status_created_at');
  }
}
