import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Adds the tokens a run's model calls used (`usage`, JSON text; NULL for a run that called no model). */
export class RunUsage1796600000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE runs ADD COLUMN usage text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE runs DROP COLUMN usage');
  }
}
