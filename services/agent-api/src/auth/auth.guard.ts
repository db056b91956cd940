import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Authenticator } from '@skreaver/auth';
import type { Principal } from '@skreaver/contracts';
import { ApiError, accessOf } from '@skreaver/http';
import { JsonLogger, currentRequestContext } from '@skreaver/observability';
import type { FastifyRequest } from 'fastify';

import { isProbe, roleAllows } from './access-policy';
import { credentialsOf, toHttpError } from './auth-http-errors';
import { setPrincipal } from './request-principal';

/**
 * The global guard: lets `@Public()` handlers and the probes through, refuses a handler that declares no access
 * (`@RequireRole()`), authenticates the caller and checks its role against the handler's.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly logger: JsonLogger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const access = accessOf(this.reflector, context);
    const url = request.routeOptions.url ?? request.url;
    if (access === 'public' || isProbe(request.method, url)) return true;

    const principal = await this.authenticate(request);
    setPrincipal(request, principal);
    // Every log line of this request names who made it (the subject, never the credential).
    const logContext = currentRequestContext();
    if (logContext) logContext.subject = principal.subject;
    if (access === undefined) {
      this.logger.write('warn', 'Route declares no access (@RequireRole or @Public); refused', { method: request.method, route: url }, 'auth');
      throw new ApiError(403, 'forbidden', `${request.method} ${url} has no access rule`);
    }
    if (roleAllows(principal.role, access)) return true;
    throw new ApiError(403, 'forbidden', `role ${principal.role} may not ${request.method} ${url} (needs ${access})`);
  }

  private async authenticate(request: FastifyRequest): Promise<Principal> {
    try {
      return await this.authenticator.authenticate(credentialsOf(request.headers));
    } catch (error) {
      throw toHttpError(error);
    }
  }
}
