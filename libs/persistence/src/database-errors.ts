import type { DependencyOutage } from '@skreaver/util';

// Socket-level failures reaching PostgreSQL (pg surfaces the Node error code as-is).
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

// SQLSTATE 57P01–57P03 (server shutting down / starting up) and 53300 (too many connections) clear up on their
// own; class 08 is "connection exception". Everything else (constraint, syntax, auth) is not an outage.
const POSTGRES_TRANSIENT_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

// better-sqlite3 codes for "the file is there but cannot be used right now"; SQLITE_BUSY after the busy timeout.
const SQLITE_UNAVAILABLE_CODE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|PROTOCOL)/;

// pg's dropped connections and pool timeouts, TypeORM and better-sqlite3 after destroy() carry no code; a database
// closed for maintenance (ALLOW_CONNECTIONS false) is SQLSTATE 55000, which other, permanent errors share.
const UNAVAILABLE_MESSAGES = [
  'is not currently accepting connections',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'not queryable',
  'Cannot use a pool after calling end',
  'Driver not Connected',
  'database connection is not open',
];

const UNAVAILABLE_ERROR_NAMES = new Set(['CannotExecuteNotConnectedError', 'ConnectionIsNotSetError']);

/**
 * Whether `error` means the database could not be reached or used right now (a retry later may succeed),
 * as opposed to a bad query or a constraint violation. Looks through TypeORM's `driverError` and `cause`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; isErrorLike(current) && depth < 5; depth += 1) {
    const { code, name, message, errors, driverError, cause } = current;
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code) || POSTGRES_TRANSIENT_STATES.has(code) || code.startsWith('08')) return true;
      if (SQLITE_UNAVAILABLE_CODE.test(code)) return true;
    }
    if (typeof name === 'string' && UNAVAILABLE_ERROR_NAMES.has(name)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((text) => message.includes(text))) return true;
    // Node reports a refused dual-stack connect as an AggregateError of the per-address errors.
    if (Array.isArray(errors) && errors.some(isDatabaseUnavailable)) return true;
    current = driverError ?? cause;
  }
  return false;
}

// Duck-typed rather than `instanceof Error`: errors raised by native code or another realm (pg sockets,
// better-sqlite3, jest's sandbox) are not instances of this realm's Error.
type ErrorLike = Record<'code' | 'name' | 'message' | 'errors' | 'driverError' | 'cause', unknown>;

function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null && 'message' in value;
}

/** The database being down, for the HTTP services' exception filter: 503 `database_unavailable` on any route. */
export const databaseOutage: DependencyOutage = {
  code: 'database_unavailable',
  message: 'The database is unavailable; retry later',
  matches: isDatabaseUnavailable,
};
