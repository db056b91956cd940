import { Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';

import { principalOf } from '../auth/request-principal';
import { enforceRateLimit } from './rate-limit-response';
import { RateLimiter } from './rate-limiter.service';

/**
 * The per-subject limit. An interceptor rather than a second guard: Nest runs every guard before any interceptor,
 * so the principal the auth guard attached is always there, whatever order modules register their guards in;
 * and it still runs before pipes and the handler, so a refused request does no work. Requests the guard refused
 * (401/403) and public routes have no principal and count against the address limit only.
 */
@Injectable()
export class SubjectRateLimitInterceptor implements NestInterceptor {
  constructor(private readonly limiter: RateLimiter) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const principal = principalOf(request);
    if (principal) {
      const verdict = await this.limiter.forSubject(principal.subject);
      if (verdict) enforceRateLimit(request.raw, http.getResponse<FastifyReply>().raw, verdict);
    }
    return next.handle();
  }
}
