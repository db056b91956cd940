import { statementKind } from './database-metrics';

describe(statementKind.name, () => {
  it.each([
    ['SELECT "a"."id" FROM "agents" "a"', 'select'],
    ['  select 1', 'select'],
    ['WITH recent AS (SELECT 1) SELECT * FROM recent', 'select'],
    ['INSERT INTO "runs" VALUES ($1)', 'insert'],
    ['UPDATE "agents" SET "name" = $1', 'update'],
    ['DELETE FROM "agent_memory" WHERE "key" = $1', 'delete'],
    ['START TRANSACTION', 'transaction'],
    ['BEGIN TRANSACTION', 'transaction'],
    ['COMMIT', 'transaction'],
    ['ROLLBACK TO SAVEPOINT typeorm_1', 'transaction'],
    ['SELECT pg_advisory_lock(hashtext($1))', 'select'],
    ['CREATE TABLE "x" ("id" int)', 'other'],
    ['PRAGMA foreign_keys = ON', 'other'],
    ['', 'other'],
  ])('should call %j a %s', (sql, kind) => {
    expect(statementKind(sql)).toBe(kind);
  });
});
