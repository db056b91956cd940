import type { IncomingHttpHeaders } from 'node:http';

import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { AuthError, Authenticator } from '@skreaver/auth';
import type { Principal } from '@skreaver/contracts';
import { requestContextOf } from '@skreaver/http';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-strategy';

import { credentialsOf } from './auth-http-errors';

type Verified = (error: unknown, principal?: Principal | false) => void;

interface ApiKeyHeaderOptions {
  /** The raw `sk_…` key of the request, or null when it carries none. */
  apiKeyOf(headers: IncomingHttpHeaders): string | null;
}

/** A passport strategy for API keys in a header, shaped like passport-jwt's: it extracts, `verify` decides. */
class ApiKeyHeaderStrategy extends Strategy {
  readonly name = 'api-key';

  constructor(
    private readonly options: ApiKeyHeaderOptions,
    private readonly verify: (apiKey: string, request: { headers: IncomingHttpHeaders }, done: Verified) => void,
  ) {
    super();
  }

  override authenticate(request: { headers: IncomingHttpHeaders }): void {
    let apiKey: string | null;
    try {
      apiKey = this.options.apiKeyOf(request.headers);
    } catch (error) {
      return this.fail(error instanceof Error ? error : new AuthError('malformed', String(error)), 401);
    }
    if (apiKey === null) return this.fail(new AuthError('missing', 'no API key in the request'), 401);
    this.verify(apiKey, request, (error, principal) => {
      if (error) this.error(error instanceof Error ? error : new Error(String(error)));
      else if (principal) this.success(principal);
      else this.fail(new AuthError('unknown_key', 'unknown API key'), 401);
    });
  }
}

/**
 * API keys (`X-API-Key: sk_…` or `Authorization: Bearer sk_…`), checked against the key store; the principal
 * `validate` returns becomes `request.user`.
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(ApiKeyHeaderStrategy, 'api-key') {
  constructor(private readonly authenticator: Authenticator) {
    super({
      apiKeyOf: (headers: IncomingHttpHeaders) => {
        const credential = authenticator.credentialOf(credentialsOf(headers));
        return credential.kind === 'api_key' ? credential.value : null;
      },
    });
  }

  /** @throws AuthError `malformed`, `unknown_key`, `revoked` or `expired_key`; AuthUnavailableError (503). */
  validate(apiKey: string, request: { headers: IncomingHttpHeaders }): Promise<Principal> {
    // Nest's AuthGuard hands passport the Fastify request (typed as Express' by passport-strategy).
    return this.authenticator.authenticateApiKey(apiKey, requestContextOf(request as FastifyRequest));
  }
}
