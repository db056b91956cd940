import { Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';

import { admissionOf } from '../auth/request-admission';
import { principalOf } from '../auth/request-principal';
import { enforceRateLimit } from './rate-limit-response';
import { RateLimiter } from './rate-limiter.service';

/**
 * The per-subject limit. An interceptor rather than a second guard: Nest runs every guard before any interceptor,
 * so the principal the auth guard attached is always there, whatever order modules register their guards in;
 * and it still runs before pipes and the handler, so a refused request does no work. Requests the guard refused
 * (401/403) and public routes have no principal and count against the address limit only. A request admitted in
 * one round trip (ip-rate-limit.hook.ts) was counted there: its verdict is applied here, at the same point.
 */
@Injectable()
export class SubjectRateLimitInterceptor implements NestInterceptor {
  constructor(private readonly limiter: RateLimiter) {}

  // Not async: an admitted request's verdict is at hand, and a promise per request is what it would add.
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> | Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const admitted = admissionOf(request);
    if (admitted) {
      if (admitted.subject) enforceRateLimit(request.raw, http.getResponse<FastifyReply>().raw, admitted.subject);
      return next.handle();
    }
    const principal = principalOf(request);
    return principal ? this.countSubject(principal.subject, request, http.getResponse<FastifyReply>(), next) : next.handle();
  }

  private async countSubject(subject: string, request: FastifyRequest, reply: FastifyReply, next: CallHandler): Promise<Observable<unknown>> {
    const verdict = await this.limiter.forSubject(subject);
    if (verdict) enforceRateLimit(request.raw, reply.raw, verdict);
    return next.handle();
  }
}
