/** A replay could not read what it needs right now; `code` is what the client is told (retry later). */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly code: 'redis_unavailable' | 'database_unavailable',
    cause: unknown,
  ) {
    super(code === 'redis_unavailable' ? 'the event log cannot be read right now; retry' : 'the event archive cannot be read right now; retry', {
      cause,
    });
    this.name = 'DependencyUnavailableError';
  }
}
