import { Injectable } from '@nestjs/common';
import type { Principal } from '@skreaver/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A check of an authenticated, authorized request; throws to refuse it (e.g. 429 from the subject limit). */
export type AuthorizedRequestCheck = (request: FastifyRequest, reply: FastifyReply, principal: Principal) => void | Promise<void>;

/**
 * The step `AuthGuard` runs last, once a request is authenticated and its role allowed: the per-subject rate limit,
 * which the rate-limit module plugs in (it imports this module, so the guard cannot inject it). Run by the guard
 * rather than as a global interceptor: a refused request still does no work, and Nest's interceptor chain (rxjs,
 * `AsyncResource.bind`) cost agent-api about a third of its CPU per `GET /agents/{id}` (bench/README.md).
 */
@Injectable()
export class AfterAuthorization {
  private check: AuthorizedRequestCheck | undefined;

  /** Sets the check (once, by the module that owns it). */
  use(check: AuthorizedRequestCheck): void {
    if (this.check) throw new Error('AfterAuthorization already has a check');
    this.check = check;
  }

  run(request: FastifyRequest, reply: FastifyReply, principal: Principal): void | Promise<void> {
    return this.check?.(request, reply, principal);
  }
}
