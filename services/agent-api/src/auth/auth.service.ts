import type { IncomingHttpHeaders } from 'node:http';

import { Injectable } from '@nestjs/common';
import { AuthError, Authenticator, TokenDenylist, TokenService } from '@skreaver/auth';
import type { JwtClaims, Principal, TokenRequest, TokenResponse } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import type { RequestContext } from '@skreaver/observability';

import { AuditService } from '../audit/audit.service';
import { credentialsOf, toHttpError } from './auth-http-errors';

/** The token a revocation targets. */
interface RevocationTarget {
  jti: string;
  subject: string;
  /** Epoch seconds. */
  exp: number;
}

/** Exchanges API keys for access tokens and revokes tokens, one at a time or a whole tenant's. */
@Injectable()
export class AuthService {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly tokens: TokenService,
    private readonly denylist: TokenDenylist,
    private readonly audit: AuditService,
  ) {}

  /**
   * Signs a token for the API key in the body (`api_key`) or, without one, in the headers. Tokens cannot be
   * exchanged for tokens: a stolen token must die at its `exp`, not be renewed forever.
   * @throws ApiError 401 `unauthorized` for a missing, unknown, revoked or expired key, or for a token.
   */
  async issueToken(headers: IncomingHttpHeaders, body: TokenRequest | undefined, request?: RequestContext): Promise<TokenResponse> {
    try {
      const raw = body?.api_key ?? this.apiKeyIn(headers);
      const issued = this.tokens.sign(await this.authenticator.authenticateApiKey(raw, request));
      return { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expires_in, expires_at: issued.expires_at };
    } catch (error) {
      throw toHttpError(error);
    }
  }

  /**
   * Revokes `token`, or without it the token the caller authenticated with. Anyone may revoke its own token; only an
   * admin may revoke another, and only one of its tenant. An already expired token is left alone: it cannot be used
   * anyway.
   * @throws ApiError 400 when there is nothing to revoke, 403 for someone else's token (unless admin) or another
   * tenant's, 503 when Redis is down.
   */
  async revoke(principal: Principal, token: string | undefined, requestId: string): Promise<void> {
    const target = token === undefined ? this.ownToken(principal) : this.namedToken(principal, token);
    if (!target) return;
    await redisCall(() => this.denylist.revoke(principal.tenant_id, target.jti, target.exp));
    await this.audit.record(principal, requestId, 'token.revoked', target.jti, { subject: target.subject });
  }

  /** Makes every token of the caller's tenant issued until now stop working (API keys are not affected); audited under `requestId`. */
  async revokeAll(principal: Principal, requestId: string): Promise<void> {
    const cutoff = Date.now() / 1000;
    await redisCall(() => this.denylist.revokeAllBefore(principal.tenant_id, cutoff));
    const notBefore = new Date(cutoff * 1000).toISOString();
    await this.audit.record(principal, requestId, 'token.revoked_all', principal.tenant_id, { not_before: notBefore });
  }

  private apiKeyIn(headers: IncomingHttpHeaders): string {
    const credential = this.authenticator.credentialOf(credentialsOf(headers));
    if (credential.kind !== 'api_key') throw new AuthError('malformed', 'POST /auth/token takes an API key (sk_…), not a token');
    return credential.value;
  }

  private ownToken(principal: Principal): RevocationTarget {
    if (principal.via !== 'jwt' || !principal.token_id || !principal.expires_at) {
      throw new ApiError(
        400,
        'validation_failed',
        'Nothing to revoke: authenticate with the token, or pass {"token"}; API keys are revoked with DELETE /api-keys/{id}',
      );
    }
    return { jti: principal.token_id, subject: principal.subject, exp: Date.parse(principal.expires_at) / 1000 };
  }

  private namedToken(principal: Principal, token: string): RevocationTarget | null {
    let claims: JwtClaims;
    try {
      claims = this.tokens.verifySignature(token);
    } catch (error) {
      if (error instanceof AuthError && error.reason === 'expired') return null;
      const reason = error instanceof AuthError ? error.reason : 'malformed';
      throw new ApiError(400, 'validation_failed', 'token is not a valid access token', [{ path: 'token', message: reason }]);
    }
    if (claims.tenant !== principal.tenant_id) throw new ApiError(403, 'forbidden', 'the token belongs to another tenant');
    // Logging someone else out is an admin's call: a viewer could otherwise log out every admin whose token it saw.
    // "Own" is the very token of the call (same jti), not any token of the same key.
    if (principal.role !== 'admin' && !(principal.via === 'jwt' && principal.token_id === claims.jti)) {
      throw new ApiError(403, 'forbidden', `role ${principal.role} may only revoke the token it calls with (revoking another token needs admin)`);
    }
    return { jti: claims.jti, subject: claims.sub, exp: claims.exp };
  }
}

/** Runs a denylist call, turning a Redis failure into 503 `redis_unavailable` the client can retry. */
async function redisCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw ApiError.unavailable('redis_unavailable', 'The token denylist is unavailable; retry later', error);
  }
}
