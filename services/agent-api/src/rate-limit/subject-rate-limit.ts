import { Injectable } from '@nestjs/common';
import type { Principal } from '@skreaver/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AfterAuthorization } from '../auth/after-authorization';
import { admissionOf } from '../auth/request-admission';
import { enforceRateLimit } from './rate-limit-response';
import { RateLimiter } from './rate-limiter.service';

/**
 * The per-subject limit, run by the auth guard as its last step (`AfterAuthorization`): only requests the guard lets
 * through are counted (401/403 answers and public routes count against the address limit only), and before pipes and
 * the handler, so a refused request does no work. A request admitted in one round trip (ip-rate-limit.hook.ts) was
 * counted there: its verdict is applied here, at the same point.
 */
@Injectable()
export class SubjectRateLimit {
  constructor(
    private readonly limiter: RateLimiter,
    afterAuthorization: AfterAuthorization,
  ) {
    afterAuthorization.use((request, reply, principal) => this.enforce(request, reply, principal));
  }

  // Not async: an admitted request's verdict is at hand, and a promise per request is what it would add.
  private enforce(request: FastifyRequest, reply: FastifyReply, principal: Principal): void | Promise<void> {
    const admitted = admissionOf(request);
    if (admitted) {
      if (admitted.subject) enforceRateLimit(request.raw, reply.raw, admitted.subject);
      return;
    }
    return this.countSubject(principal.subject, request, reply);
  }

  private async countSubject(subject: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const verdict = await this.limiter.forSubject(subject);
    if (verdict) enforceRateLimit(request.raw, reply.raw, verdict);
  }
}
