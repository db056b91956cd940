import { isDatabaseUnavailable } from './database-errors';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe(isDatabaseUnavailable.name, () => {
  it.each([
    ['a refused TCP connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a dual-stack refusal', new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')])],
    ['PostgreSQL shutting down', withCode('terminating connection due to administrator command', '57P01')],
    ['a PostgreSQL connection exception', withCode('connection failure', '08006')],
    ['too many connections', withCode('sorry, too many clients already', '53300')],
    ['a database closed to connections', withCode('database "skreaver" is not currently accepting connections', '55000')],
    ['a dropped pg connection', new Error('Connection terminated unexpectedly')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a busy SQLite file', withCode('database is locked', 'SQLITE_BUSY')],
    ['a closed SQLite handle', new TypeError('The database connection is not open')],
    ['a destroyed TypeORM driver', new Error('Driver not Connected')],
    ['a wrapped driver error', Object.assign(new Error('query failed'), { driverError: withCode('x', 'ECONNRESET') })],
    ['an error cause', new Error('outer', { cause: withCode('inner', '57P03') })],
  ])('should say yes to %s', (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['a SQLite constraint', withCode('UNIQUE constraint failed: agents.id', 'SQLITE_CONSTRAINT_PRIMARYKEY')],
    ['a syntax error', withCode('syntax error at or near "SELEC"', '42601')],
    ['another 55000', withCode('currval of sequence "s" is not yet defined in this session', '55000')],
    ['a contract violation', new Error('Invalid input: expected string')],
    ['not an error', 'ECONNREFUSED'],
    ['undefined', undefined],
  ])('should say no to %s', (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
