import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Authenticator, TokenDenylist, TokenService, isRevoked, principalOfClaims } from '@skreaver/auth';
import type { JwtClaims, Principal } from '@skreaver/contracts';
import { routeOf } from '@skreaver/http';
import type { FastifyInstance, FastifyRequest, FastifyReply } from 'fastify';

import { roleAllows } from '../auth/access-policy';
import { credentialsOf } from '../auth/auth-http-errors';
import { setAdmission } from '../auth/request-admission';
import { RouteAccess } from '../auth/route-access';
import { enforceRateLimit } from './rate-limit-response';
import { RateLimiter } from './rate-limiter.service';

// Orchestrators and Prometheus poll these from few addresses, often behind one NAT; a limit would fail probes.
const UNLIMITED_ROUTES = new Set(['/health', '/ready', '/metrics']);

// TokenService hands out one frozen claims object per verified token, so its principal is made once too (frozen
// as well): building it, an ISO date among it, was ~1 % of agent-api's CPU per request.
const principals = new WeakMap<JwtClaims, Principal>();

function principalOf(claims: JwtClaims): Principal {
  let principal = principals.get(claims);
  if (!principal) {
    principal = Object.freeze(principalOfClaims(claims));
    principals.set(claims, principal);
  }
  return principal;
}

/**
 * The per-address limit, as a Fastify `onRequest` hook: it runs before the body is read and before the auth guard,
 * so floods of unauthenticated requests, and key guessing at `POST /auth/token`, are refused before they cost a
 * database lookup. Installed at module init, after createServiceApp's request-id hook, so refusals carry the id.
 *
 * For the common request, an access token on a route the caller's role may call, it also does the auth guard's
 * denylist check and the subject limit in the same Redis round trip (RateLimitStore.admit), with the same outcome as
 * one check after the other: the guard and its subject-limit step then apply what it found (request-admission.ts).
 * Every other request (API keys, bad or missing tokens, public routes, routes the role may not call, a route's first
 * request, a Redis Cluster, Redis unreachable) takes the checks one by one.
 */
@Injectable()
export class IpRateLimitHook implements OnModuleInit {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: Authenticator,
    private readonly tokens: TokenService,
    private readonly denylist: TokenDenylist,
    private readonly routeAccess: RouteAccess,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    adapter?.getInstance<FastifyInstance>().addHook('onRequest', (request, reply) => this.check(request, reply));
  }

  private async check(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (UNLIMITED_ROUTES.has(routeOf(request) ?? '')) return;
    const token = this.limiter.admitsInOneTrip ? this.admissibleToken(request) : undefined;
    if (token && (await this.admitInOneTrip(request, reply, token.claims, token.principal))) return;
    const verdict = await this.limiter.forClient(request.raw.socket.remoteAddress, request.headers['x-forwarded-for']);
    if (verdict) enforceRateLimit(request.raw, reply.raw, verdict);
  }

  /**
   * The verified token of a request whose route's access is known and lets the token's role through; undefined for
   * anything else (whatever is wrong with the credential, the guard finds and answers it as before).
   */
  private admissibleToken(request: FastifyRequest): { claims: JwtClaims; principal: Principal } | undefined {
    const route = routeOf(request);
    const access = route === undefined ? undefined : this.routeAccess.of(request.method, route);
    if (access === undefined || access === 'public') return undefined;
    try {
      const credential = this.authenticator.credentialOf(credentialsOf(request.headers));
      if (credential.kind !== 'jwt') return undefined;
      const claims = this.tokens.verifySignature(credential.value);
      const principal = principalOf(claims);
      return roleAllows(principal.role, access) ? { claims, principal } : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Counts the address, reads the token's denylist entries and counts the subject in one round trip, refuses the
   * request when the address limit does, and leaves the rest for the guard and its subject-limit step. False when Redis
   * could not be asked: the address is then not counted again (the failure was), and the guard and the
   * subject limit check one by one.
   */
  private async admitInOneTrip(request: FastifyRequest, reply: FastifyReply, claims: JwtClaims, principal: Principal): Promise<boolean> {
    const admission = await this.limiter.admit(request.raw.socket.remoteAddress, request.headers['x-forwarded-for'], {
      subject: principal.subject,
      revocationKeys: this.denylist.keysOf(claims.tenant, claims.jti, claims.sub),
      issuedAt: claims.iat,
    });
    if (!admission) return true;
    if (admission.ip) enforceRateLimit(request.raw, reply.raw, admission.ip);
    const entries = admission.revocation;
    const revoked = entries ? isRevoked(claims, TokenDenylist.statusOf(entries.denied ? '1' : null, entries.tenantNotBefore, entries.subjectNotBefore)) : true;
    setAdmission(request, { principal, revoked, subject: admission.subject });
    return true;
  }
}
