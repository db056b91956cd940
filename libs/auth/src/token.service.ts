import { createSecretKey, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { JwtClaims } from '@skreaver/contracts';
import type { Principal } from '@skreaver/contracts';
import jwt from 'jsonwebtoken';

import { AuthError, AuthUnavailableError } from './auth-error';
import type { RevocationList, RevocationStatus } from './token-denylist';

/** Configuration of `TokenService`. */
export interface TokenServiceOptions {
  /** HMAC key; at least 32 characters. */
  secret: string;
  /** Lifetime of a new token. */
  ttlSeconds: number;
  /** Consulted by `verify`; without it no token is ever considered revoked. */
  revocations?: RevocationList;
  /** Epoch milliseconds; replaced in tests. */
  now?: () => number;
}

/** A newly signed access token. */
export interface IssuedToken {
  token: string;
  jti: string;
  /** ISO timestamp. */
  expires_at: string;
  /** Whole seconds from now until `expires_at`. */
  expires_in: number;
}

/** The principal fields a token is minted from; `expires_at` (an API key's expiry) caps the token's lifetime. */
export type TokenSubject = Pick<Principal, 'subject' | 'role' | 'tenant_id' | 'expires_at'>;

// Only HS256 is accepted: `alg: none`, and RS256 tokens "verified" with our secret as a public key, are refused.
const ALGORITHMS: jwt.Algorithm[] = ['HS256'];
const MIN_SECRET_LENGTH = 32;
// Far above any token we sign (~400 bytes); anything longer is not worth parsing.
const MAX_TOKEN_LENGTH = 4096;
const SIGNATURE_FAILURES = new Set(['invalid signature', 'invalid algorithm', 'jwt signature is required']);
// Bounds the verified-token cache; only tokens whose signature checked out get in, so nobody can fill it with junk.
// Clearing it when full only costs one HMAC per live token.
const MAX_VERIFIED_TOKENS = 10_000;

/** Signs and verifies HS256 access tokens carrying `sub`, `role`, `tenant`, `jti`, `iat` and `exp`. */
export class TokenService {
  private readonly now: () => number;
  // jsonwebtoken turns a string secret into a KeyObject on every call, first trying (and failing) to parse it as a
  // PEM public key: that throw was a fifth of agent-api's CPU per authenticated request. Made once here instead.
  private readonly key: KeyObject;
  // Claims of tokens whose signature and claims were checked, by token: a token is a pure function of its claims and
  // our key, so the check cannot come out differently later, except for expiry, which is checked on every use.
  // Revocation is never cached (`checkRevocation` asks the denylist every time).
  private readonly verified = new Map<string, JwtClaims>();

  constructor(private readonly options: TokenServiceOptions) {
    if (options.secret.length < MIN_SECRET_LENGTH) throw new Error(`the JWT secret must be at least ${MIN_SECRET_LENGTH} characters`);
    if (!(options.ttlSeconds > 0)) throw new Error('the token lifetime must be positive');
    this.now = options.now ?? Date.now;
    this.key = createSecretKey(Buffer.from(options.secret, 'utf8'));
  }

  /** The HMAC key, made once: hand it to anything else that verifies these tokens (e.g. a passport-jwt strategy). */
  get verificationKey(): KeyObject {
    return this.key;
  }

  /** Lifetime of a new token, in seconds. */
  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /** Signs a token for `principal`, valid for the configured lifetime or until `principal.expires_at` if sooner. */
  sign(principal: TokenSubject): IssuedToken {
    const nowMs = this.now();
    let expiresMs = nowMs + this.options.ttlSeconds * 1000;
    if (principal.expires_at) expiresMs = Math.min(expiresMs, Date.parse(principal.expires_at));
    if (expiresMs <= nowMs) throw new AuthError('expired_key', 'the API key has expired');
    const claims: JwtClaims = {
      sub: principal.subject,
      role: principal.role,
      tenant: principal.tenant_id,
      jti: randomUUID(),
      iat: nowMs / 1000,
      exp: expiresMs / 1000,
    };
    const token = jwt.sign(JwtClaims.parse(claims), this.key, { algorithm: 'HS256' });
    return {
      token,
      jti: claims.jti,
      expires_at: new Date(expiresMs).toISOString(),
      expires_in: Math.floor((expiresMs - nowMs) / 1000),
    };
  }

  /**
   * Checks signature, algorithm, expiry and claims, but not revocation.
   * @throws AuthError `malformed`, `expired` or `invalid_signature`.
   */
  verifySignature(token: string): JwtClaims {
    const known = this.verified.get(token);
    if (known) {
      if (known.exp * 1000 > this.now()) return known;
      this.verified.delete(token);
      throw new AuthError('expired', 'the token has expired');
    }
    if (!looksLikeJwt(token)) throw new AuthError('malformed', 'the token is not a JWT');
    let decoded: string | jwt.JwtPayload;
    try {
      decoded = jwt.verify(token, this.key, { algorithms: ALGORITHMS, clockTimestamp: this.now() / 1000 });
    } catch (error) {
      throw authErrorOf(error);
    }
    // Frozen: every later request with this token gets the same object.
    const claims = Object.freeze(this.claimsOf(decoded));
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  /**
   * The claims of a token whose signature was verified, checked to the millisecond against `exp` (jsonwebtoken's own
   * check rounds its clock down to whole seconds).
   * @throws AuthError `malformed` when they are not ours, `expired`.
   */
  claimsOf(payload: unknown): JwtClaims {
    const claims = JwtClaims.safeParse(payload);
    if (!claims.success) throw new AuthError('malformed', 'the token does not carry the expected claims');
    if (claims.data.exp * 1000 <= this.now()) throw new AuthError('expired', 'the token has expired');
    return claims.data;
  }

  /**
   * Verifies the token and checks it against the revocation list (its own `jti`, its tenant's and its subject's
   * cut-offs) in one round trip.
   * @throws AuthError `malformed`, `expired`, `invalid_signature` or `revoked`; AuthUnavailableError when the
   * revocation list cannot be read.
   */
  async verify(token: string): Promise<JwtClaims> {
    return this.checkRevocation(this.verifySignature(token));
  }

  /**
   * Checks verified claims against the revocation list (its own `jti`, its tenant's and its subject's cut-offs) in
   * one round trip.
   * @throws AuthError `revoked`; AuthUnavailableError when the revocation list cannot be read.
   */
  async checkRevocation(claims: JwtClaims): Promise<JwtClaims> {
    const revocations = this.options.revocations;
    if (!revocations) return claims;
    let status: RevocationStatus;
    try {
      status = await revocations.check(claims.tenant, claims.jti, claims.sub);
    } catch (error) {
      throw new AuthUnavailableError('revocation_list', error);
    }
    if (isRevoked(claims, status)) throw new AuthError('revoked', 'the token has been revoked');
    return claims;
  }
}

/** Whether the denylist's `status` revokes the token of `claims`: its own `jti`, or issued at or before a cut-off. */
export function isRevoked(claims: Pick<JwtClaims, 'iat'>, status: RevocationStatus): boolean {
  const cutoff = Math.max(status.tenantNotBefore ?? -Infinity, status.subjectNotBefore ?? -Infinity);
  return status.revoked || claims.iat <= cutoff;
}

/** Whether `token` is worth verifying: three dot-separated parts, of a sane length. */
export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_LENGTH && token.split('.').length === 3;
}

/** The refusal a jsonwebtoken verification error stands for: `expired`, `invalid_signature` or else `malformed`. */
export function authErrorOf(error: unknown): AuthError {
  if (error instanceof jwt.TokenExpiredError) return new AuthError('expired', 'the token has expired');
  if (error instanceof jwt.JsonWebTokenError && SIGNATURE_FAILURES.has(error.message)) {
    return new AuthError('invalid_signature', 'the token signature is invalid');
  }
  return new AuthError('malformed', 'the token is malformed');
}
