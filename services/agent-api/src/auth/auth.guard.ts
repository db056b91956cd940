import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import { AuthError, Authenticator, authErrorOf } from '@skreaver/auth';
import type { Principal } from '@skreaver/contracts';
import { ApiError, accessOf, requestContextOf, routeOf } from '@skreaver/http';
import { JsonLogger } from '@skreaver/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { isProbe, roleAllows } from './access-policy';
import { AfterAuthorization } from './after-authorization';
import { credentialsOf, toHttpError } from './auth-http-errors';
import { admissionOf } from './request-admission';
import { setPrincipal } from './request-principal';
import { RouteAccess } from './route-access';

/** Passport's guard for one strategy, answering refusals in our format (401 with `details.reason`, 503 for outages). */
function strategyGuard(strategy: 'jwt' | 'api-key') {
  return class extends PassportAuthGuard(strategy) {
    override handleRequest<P = Principal>(error: unknown, principal: P | false, info: unknown): P {
      if (error) throw toHttpError(error);
      if (!principal) throw toHttpError(info instanceof AuthError ? info : authErrorOf(info));
      return principal;
    }
  };
}

const JwtAuthGuard = strategyGuard('jwt');
const ApiKeyAuthGuard = strategyGuard('api-key');

/**
 * The global guard: lets `@Public()` handlers and the probes through; otherwise authenticates the request with the
 * passport strategy of the one credential it carries (JwtStrategy, ApiKeyStrategy), refuses a handler that declares
 * no access (`@RequireRole()`), checks the caller's role against the handler's, and last runs `AfterAuthorization`
 * (the subject rate limit). A request the admission hook
 * already admitted in one Redis round trip (an access token on a route whose access is known) takes its principal
 * and revocation verdict from there instead.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly jwt = new JwtAuthGuard();
  private readonly apiKey = new ApiKeyAuthGuard();

  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly routeAccess: RouteAccess,
    private readonly logger: JsonLogger,
    private readonly afterAuthorization: AfterAuthorization,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    const access = accessOf(this.reflector, context);
    const route = routeOf(request);
    const url = route ?? request.url;
    if (route) this.routeAccess.learn(request.method, route, access);
    if (access === 'public' || isProbe(request.method, url)) return true;

    const principal = await this.authenticate(context, request);
    setPrincipal(request, principal);
    // Every log line of this request names who made it (the subject, never the credential).
    const logContext = requestContextOf(request);
    logContext.subject = principal.subject;
    if (access === undefined) {
      this.logger.write('warn', 'Route declares no access (@RequireRole or @Public); refused', { method: request.method, route: url }, 'auth', logContext);
      throw new ApiError(403, 'forbidden', `${request.method} ${url} has no access rule`);
    }
    if (!roleAllows(principal.role, access)) throw new ApiError(403, 'forbidden', `role ${principal.role} may not ${request.method} ${url} (needs ${access})`);
    await this.afterAuthorization.run(request, context.switchToHttp().getResponse<FastifyReply>(), principal);
    return true;
  }

  private async authenticate(context: ExecutionContext, request: FastifyRequest & { user?: Principal }): Promise<Principal> {
    const admitted = admissionOf(request);
    if (admitted) {
      if (admitted.revoked) throw toHttpError(new AuthError('revoked', 'the token has been revoked'));
      return admitted.principal;
    }
    await (this.credentialKind(request) === 'jwt' ? this.jwt : this.apiKey).canActivate(context);
    if (!request.user) throw new Error('a passport strategy succeeded without a principal');
    return request.user;
  }

  /** Which strategy the request's credential is for. @throws ApiError 401 for none, two, or another scheme. */
  private credentialKind(request: FastifyRequest): 'jwt' | 'api_key' {
    try {
      return this.authenticator.credentialOf(credentialsOf(request.headers)).kind;
    } catch (error) {
      throw toHttpError(error);
    }
  }
}
