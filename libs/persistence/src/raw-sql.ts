import type { DataSource } from 'typeorm';

/**
 * `sql` written with `?` placeholders, as the data source's driver wants them: `?` for SQLite, `$1`, `$2`… for
 * PostgreSQL. For the few statements on a request's hot path, sent as they are through `DataSource.query`: the query
 * builder costs more CPU than the statement (better-sqlite3 reuses the prepared statement of the same text; TypeORM's
 * query events, and so `skreaver_db_query_duration_seconds`, still see it).
 */
export function rawSql(dataSource: DataSource, sql: string): string {
  if (dataSource.options.type !== 'postgres') return sql;
  let index = 0;
  return sql.replace(/\?/g, () => `$${(index += 1)}`);
}
