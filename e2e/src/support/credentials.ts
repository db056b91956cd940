import { randomBytes } from 'node:crypto';

// Bearer tokens per service origin, so specs written before authentication (and SSE readers) keep calling
// agent-api as its bootstrap admin without threading a token through every call.
const tokens = new Map<string, string>();

/** From now on, requests to `baseUrl` carry `Authorization: Bearer <token>` unless they set their own credential. */
export function authenticateCallsTo(baseUrl: string, token: string): void {
  tokens.set(new URL(baseUrl).origin, token);
}

/** Stops adding a token to requests to `baseUrl`. */
export function forgetCredentialsFor(baseUrl: string): void {
  tokens.delete(new URL(baseUrl).origin);
}

/** `headers` plus the registered token of `url`'s origin, unless `headers` already carry a credential. */
export function withDefaultCredentials(url: string, headers: Record<string, string> = {}): Record<string, string> {
  const names = Object.keys(headers).map((name) => name.toLowerCase());
  if (names.includes('authorization') || names.includes('x-api-key')) return headers;
  const token = tokens.get(new URL(url).origin);
  return token ? { authorization: `Bearer ${token}`, ...headers } : headers;
}

/**
 * A fresh `sk_<prefix>_<secret>` key, in the format agent-api accepts for SKREAVER_ADMIN_API_KEY. Built here rather
 * than imported from @skreaver/auth: the e2e tier drives the services as a black box and uses no data-access code.
 */
export function newApiKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const prefix = Array.from(randomBytes(10), (byte) => alphabet[byte % alphabet.length]).join('');
  return `sk_${prefix}_${randomBytes(32).toString('base64url')}`;
}
