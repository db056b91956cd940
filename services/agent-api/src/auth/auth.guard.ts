import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Authenticator } from '@skreaver/auth';
import type { Principal } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { JsonLogger, currentRequestContext } from '@skreaver/observability';
import type { FastifyRequest } from 'fastify';

import { authorize, isPublicRoute } from './access-policy';
import type { RouteKey } from './access-policy';
import { credentialsOf, toHttpError } from './auth-http-errors';
import { IS_PUBLIC } from './public.decorator';
import { setPrincipal } from './request-principal';

/** The global guard: authenticates every non-public route, then authorizes the principal's role with the access policy. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly logger: JsonLogger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const route: RouteKey = { method: request.method, url: request.routeOptions.url ?? request.url };
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic || isPublicRoute(route)) return true;

    const principal = await this.authenticate(request);
    setPrincipal(request, principal);
    // Every log line of this request names who made it (the subject, never the credential).
    const logContext = currentRequestContext();
    if (logContext) logContext.subject = principal.subject;
    const decision = authorize(principal.role, route);
    if (decision.allowed) return true;
    if (decision.reason === 'no_rule') {
      this.logger.write('warn', 'Route has no access rule; refused', { method: route.method, route: route.url }, 'auth');
      throw new ApiError(403, 'forbidden', `${route.method} ${route.url} has no access rule`);
    }
    throw new ApiError(403, 'forbidden', `role ${principal.role} may not ${route.method} ${route.url} (needs ${decision.required})`);
  }

  private async authenticate(request: FastifyRequest): Promise<Principal> {
    try {
      return await this.authenticator.authenticate(credentialsOf(request.headers));
    } catch (error) {
      throw toHttpError(error);
    }
  }
}
