import { ApiError } from '@skreaver/http';
import { isDatabaseUnavailable } from '@skreaver/persistence';

/**
 * Runs a repository call, turning "the database is down" into 503 `database_unavailable` the client can retry.
 * Not redundant with the exception filter's dependency outages: pg's error while PostgreSQL is down is a bare
 * `connect ECONNREFUSED`, which the Redis outage (listed first) claims too; only the call site knows which
 * dependency it called (database-outage.e2e-spec.ts).
 */
export async function databaseCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw ApiError.unavailable('database_unavailable', 'The database is unavailable; retry later');
    throw error;
  }
}
