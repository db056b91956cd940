import { ApiError } from '@skreaver/http';
import { isDatabaseUnavailable } from '@skreaver/persistence';

/** Runs a repository call, turning "the database is down" into 503 `database_unavailable` the client can retry. */
export async function databaseCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw ApiError.unavailable('database_unavailable', 'The database is unavailable; retry later');
    throw error;
  }
}
