import { ReplyError } from 'ioredis';

import { isRedisUnavailable } from './redis-errors';

// ioredis does not export its MaxRetriesPerRequestError class; this is what it throws.
const maxRetries = () =>
  Object.assign(new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.'), {
    name: 'MaxRetriesPerRequestError',
  });

describe(isRedisUnavailable.name, () => {
  it.each([
    ['a command that outlived its reconnect attempts', maxRetries()],
    ['a command refused while the connection is down', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a closed connection', new Error('Connection is closed.')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })],
    ['a Redis still loading its data', new ReplyError('LOADING Redis is loading the dataset in memory')],
    ['a demoted primary', new ReplyError("READONLY You can't write against a read only replica.")],
    ['a wrapped outage', new Error('enqueue failed', { cause: maxRetries() })],
  ])('should count %s as unavailable', (_, error) => {
    expect(isRedisUnavailable(error)).toBe(true);
  });

  it.each([
    ['a wrong type', new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a syntax error', new ReplyError('ERR syntax error')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a non-error', 'down'],
    ['nothing', undefined],
  ])('should not count %s as unavailable', (_, error) => {
    expect(isRedisUnavailable(error)).toBe(false);
  });
});
