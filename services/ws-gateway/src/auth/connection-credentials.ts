import type { IncomingHttpHeaders } from 'node:http';

import { AuthError } from '@skreaver/auth';
import type { Credentials } from '@skreaver/auth';

/** Where a connecting client may put its credential (a JWT or an `sk_…` API key). */
export interface ConnectionCredentialSources {
  /** socket.io handshake `auth.token`. */
  authToken?: unknown;
  /** The `?token=` query parameter (browsers cannot set headers on a WebSocket). */
  queryToken?: unknown;
  /** `Authorization: Bearer …` or `X-API-Key: sk_…`. */
  headers: IncomingHttpHeaders;
}

/**
 * The one credential a connection carries, as the authenticator's `Credentials`.
 * @throws AuthError `malformed` when several places carry one, or a value is not a single string.
 */
export function connectionCredentials(sources: ConnectionCredentialSources): Credentials {
  const found: Credentials[] = [];
  if (sources.authToken !== undefined) found.push(bearer(sources.authToken, 'auth.token'));
  if (sources.queryToken !== undefined) found.push(bearer(sources.queryToken, 'the token query parameter'));
  const { authorization } = sources.headers;
  const apiKey = sources.headers['x-api-key'];
  if (Array.isArray(apiKey)) throw new AuthError('malformed', 'X-API-Key given more than once');
  if (authorization !== undefined || apiKey !== undefined) {
    found.push({ ...(authorization === undefined ? {} : { authorization }), ...(apiKey === undefined ? {} : { apiKey }) });
  }
  // Two credentials could name two principals; like agent-api, refuse rather than pick one.
  if (found.length > 1) throw new AuthError('malformed', 'send one credential: auth.token, ?token= or a header, not several');
  return found[0] ?? {};
}

function bearer(value: unknown, where: string): Credentials {
  if (typeof value !== 'string' || value.length === 0) throw new AuthError('malformed', `${where} must be one non-empty string`);
  return { authorization: `Bearer ${value}` };
}
