import { AuthError } from '@skreaver/auth';

import { connectionCredentials } from './connection-credentials';

describe(connectionCredentials.name, () => {
  it.each([
    ['auth.token', { authToken: 'jwt', headers: {} }, { authorization: 'Bearer jwt' }],
    ['?token=', { queryToken: 'sk_key', headers: {} }, { authorization: 'Bearer sk_key' }],
    ['Authorization', { headers: { authorization: 'Bearer jwt' } }, { authorization: 'Bearer jwt' }],
    ['X-API-Key', { headers: { 'x-api-key': 'sk_key' } }, { apiKey: 'sk_key' }],
    ['nothing', { headers: {} }, {}],
  ])('should read a credential from %s', (_label, sources, expected) => {
    expect(connectionCredentials(sources)).toEqual(expected);
  });

  it.each([
    ['two places at once', { authToken: 'a', queryToken: 'b', headers: {} }],
    ['a token and a header', { authToken: 'a', headers: { authorization: 'Bearer b' } }],
    ['a repeated query parameter', { queryToken: ['a', 'b'], headers: {} }],
    ['an empty token', { authToken: '', headers: {} }],
    ['a non-string token', { authToken: 42, headers: {} }],
  ])('should refuse %s as malformed', (_label, sources) => {
    expect(() => connectionCredentials(sources)).toThrow(expect.objectContaining({ constructor: AuthError, reason: 'malformed' }));
  });
});
