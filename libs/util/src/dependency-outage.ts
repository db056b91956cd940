/**
 * An error that means a dependency is down (Redis, the database), recognised by the library that owns the client:
 * whatever route meets it answers a retryable 503 with `code`, never a 500, and the log gets a warning, not a stack.
 * Declared here, below both, so the data-access libraries describe their outages without importing the HTTP layer.
 */
export interface DependencyOutage {
  code: 'database_unavailable' | 'redis_unavailable' | 'queue_unavailable';
  message: string;
  matches(error: unknown): boolean;
}
