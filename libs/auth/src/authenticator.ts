import type { JwtClaims, Principal } from '@skreaver/contracts';
import type { RequestContext } from '@skreaver/observability';

import { looksLikeApiKey, parseApiKey, verifySecret } from './api-key.codec';
import type { ApiKeyStore, StoredApiKey } from './api-key-store';
import { AuthError, AuthUnavailableError } from './auth-error';
import type { TokenService } from './token.service';

/** The credential-bearing headers of a request. */
export interface Credentials {
  /** `Authorization` header: `Bearer <jwt>` or `Bearer sk_…`. */
  authorization?: string;
  /** `X-API-Key` header: `sk_…`. */
  apiKey?: string;
}

/** The one credential a request carries. */
export interface Credential {
  kind: 'api_key' | 'jwt';
  value: string;
}

/** Configuration of `Authenticator`. */
export interface AuthenticatorOptions {
  keys: ApiKeyStore;
  tokens: TokenService;
  /** Epoch milliseconds; replaced in tests. */
  now?: () => number;
  /** `last_used_at` is written at most this often per key. */
  touchIntervalMs?: number;
  /** A failed `last_used_at` write, with the log context of the request that made it; it never fails the request. */
  onTouchError?: (error: unknown, request?: RequestContext) => void;
}

const BEARER = /^Bearer +(\S+) *$/i;
// One `last_used_at` write per key per minute keeps a busy key from turning every request into a database write.
const DEFAULT_TOUCH_INTERVAL_MS = 60_000;
// Bounds the memory of when each key was last written; forgetting only costs one early write per key.
const MAX_TRACKED_KEYS = 10_000;

/** The subject of an API key's requests and of the tokens minted from it. */
export function apiKeySubject(prefix: string): string {
  return `key:${prefix}`;
}

/** Turns a request's `Authorization` / `X-API-Key` headers into a `Principal`, or refuses them with an `AuthError`. */
export class Authenticator {
  private readonly now: () => number;
  private readonly touchIntervalMs: number;
  private readonly lastTouched = new Map<string, number>();

  constructor(private readonly options: AuthenticatorOptions) {
    this.now = options.now ?? Date.now;
    this.touchIntervalMs = options.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS;
  }

  /**
   * Authenticates `Authorization: Bearer <jwt>`, `Authorization: Bearer sk_…` or `X-API-Key: sk_…`.
   * @throws AuthError `missing`, `malformed`, `expired`, `invalid_signature`, `revoked`, `unknown_key` or
   * `expired_key`; AuthUnavailableError when the key store or the revocation list cannot be read.
   */
  async authenticate(credentials: Credentials): Promise<Principal> {
    const credential = this.credentialOf(credentials);
    if (credential.kind === 'api_key') return this.authenticateApiKey(credential.value);
    return this.authenticateToken(credential.value);
  }

  /**
   * The single credential in the headers.
   * @throws AuthError `missing` when there is none, `malformed` for another scheme or for two credentials at once.
   */
  credentialOf(credentials: Credentials): Credential {
    const { authorization, apiKey } = credentials;
    if (authorization === undefined && apiKey === undefined) {
      throw new AuthError('missing', 'authentication required: send Authorization: Bearer <token or API key>, or X-API-Key');
    }
    // Two credentials could disagree on who is calling; refusing is simpler to reason about than a precedence rule.
    if (authorization !== undefined && apiKey !== undefined) {
      throw new AuthError('malformed', 'send either Authorization or X-API-Key, not both');
    }
    if (apiKey !== undefined) return { kind: 'api_key', value: apiKey.trim() };
    const value = BEARER.exec(authorization ?? '')?.[1];
    if (!value) throw new AuthError('malformed', 'expected Authorization: Bearer <token or API key>');
    return { kind: looksLikeApiKey(value) ? 'api_key' : 'jwt', value };
  }

  /**
   * Authenticates a raw `sk_…` key against the store and schedules its `last_used_at` update; `request` is the log
   * context of the request it came with, for the line a failed update writes.
   * @throws AuthError `malformed`, `unknown_key`, `revoked` or `expired_key`; AuthUnavailableError.
   */
  async authenticateApiKey(raw: string, request?: RequestContext): Promise<Principal> {
    const parsed = parseApiKey(raw);
    if (!parsed) throw new AuthError('malformed', 'the API key is malformed');
    let key: StoredApiKey | null;
    try {
      key = await this.options.keys.findByPrefix(parsed.prefix);
    } catch (error) {
      throw new AuthUnavailableError('key_store', error);
    }
    // A wrong secret for an existing prefix answers like an unknown prefix: nothing tells a guesser it got close.
    if (!key || !verifySecret(parsed.secret, key.secret_hash)) throw new AuthError('unknown_key', 'unknown API key');
    if (key.revoked_at !== null) throw new AuthError('revoked', 'the API key has been revoked');
    const nowMs = this.now();
    if (key.expires_at !== null && Date.parse(key.expires_at) <= nowMs) {
      throw new AuthError('expired_key', 'the API key has expired');
    }
    this.touchLater(key, nowMs, request);
    return {
      subject: apiKeySubject(key.prefix),
      role: key.role,
      tenant_id: key.tenant_id,
      via: 'api_key',
      key_id: key.id,
      ...(key.expires_at === null ? {} : { expires_at: key.expires_at }),
    };
  }

  /**
   * Verifies an access token, revocation included.
   * @throws AuthError `malformed`, `expired`, `invalid_signature` or `revoked`; AuthUnavailableError.
   */
  async authenticateToken(token: string): Promise<Principal> {
    return principalOfClaims(await this.options.tokens.verify(token));
  }

  private touchLater(key: StoredApiKey, nowMs: number, request: RequestContext | undefined): void {
    const stored = key.last_used_at === null ? -Infinity : Date.parse(key.last_used_at);
    const last = Math.max(stored, this.lastTouched.get(key.id) ?? -Infinity);
    if (nowMs - last < this.touchIntervalMs) return;
    if (this.lastTouched.size >= MAX_TRACKED_KEYS) this.lastTouched.clear();
    this.lastTouched.set(key.id, nowMs);
    // Not awaited: the request does not wait for a bookkeeping write.
    const touched = this.options.keys.touch(key.id, new Date(nowMs).toISOString());
    touched.catch((error: unknown) => this.options.onTouchError?.(error, request));
  }
}

/** The principal a verified token stands for. */
export function principalOfClaims(claims: JwtClaims): Principal {
  return {
    subject: claims.sub,
    role: claims.role,
    tenant_id: claims.tenant,
    via: 'jwt',
    token_id: claims.jti,
    expires_at: new Date(Math.round(claims.exp * 1000)).toISOString(),
  };
}
