import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest, FastifyReply } from 'fastify';

import { enforceRateLimit } from './rate-limit-response';
import { RateLimiter } from './rate-limiter.service';

// Orchestrators and Prometheus poll these from few addresses, often behind one NAT; a limit would fail probes.
const UNLIMITED_ROUTES = new Set(['/health', '/ready', '/metrics']);

/**
 * The per-address limit, as a Fastify `onRequest` hook: it runs before the body is read and before the auth guard,
 * so floods of unauthenticated requests, and key guessing at `POST /auth/token`, are refused before they cost a
 * database lookup. Installed at module init, after createServiceApp's request-id hook, so refusals carry the id.
 */
@Injectable()
export class IpRateLimitHook implements OnModuleInit {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    adapter?.getInstance<FastifyInstance>().addHook('onRequest', (request, reply) => this.check(request, reply));
  }

  private async check(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (UNLIMITED_ROUTES.has(request.routeOptions.url ?? '')) return;
    const verdict = await this.limiter.forClient(request.raw.socket.remoteAddress, request.headers['x-forwarded-for']);
    if (verdict) enforceRateLimit(request.raw, reply.raw, verdict);
  }
}
