import type { Role } from '@skreaver/contracts';

/** The route as Fastify matched it: method and URL template (`/agents/:id`). */
export interface RouteKey {
  method: string;
  url: string;
}

/** Outcome of `authorize`. */
export type AccessDecision = { allowed: true } | { allowed: false; reason: 'no_rule' } | { allowed: false; reason: 'role'; required: Role };

// Roles nest: each may do everything the ones below it may.
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * Routes served by libs/observability (and the API docs) that need no credentials: probes, Prometheus scrapes and
 * docs come from orchestrators and browsers that carry none. A path allow-list rather than a check of the
 * controller class: a route someone later adds to HealthController must not become public by accident.
 * agent-api's own public handlers say so with `@Public()`.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'GET /docs',
  'GET /docs/*',
  'GET /openapi.json',
]);

/**
 * The least role allowed on every authenticated route of agent-api: the one place authorization is decided.
 * `viewer` reads (GET/HEAD) everything but API keys and the audit log; `operator` also writes; `admin` also
 * manages API keys, reads the audit log and revokes every token of its tenant. A route missing here is refused
 * to everybody (403) and fails the route × role matrix test: a new endpoint stays closed until someone decides.
 */
export const ACCESS_RULES: Readonly<Record<string, Role>> = {
  // Logging out only ever removes access, so every role may revoke the token it calls with; AuthService lets only
  // admins revoke another token (of their tenant).
  'POST /auth/revoke': 'viewer',
  'POST /auth/revoke-all': 'admin',

  'POST /api-keys': 'admin',
  'GET /api-keys': 'admin',
  'DELETE /api-keys/:id': 'admin',
  'GET /audit': 'admin',

  'POST /agents': 'operator',
  'GET /agents': 'viewer',
  'GET /agents/:id': 'viewer',
  'GET /agents/:id/status': 'viewer',
  'PATCH /agents/:id': 'operator',
  'DELETE /agents/:id': 'operator',

  'POST /agents/:id/runs': 'operator',
  'POST /agents/:id/observe': 'operator',
  'POST /agents/:id/observe/stream': 'operator',
  'POST /agents/:id/batch': 'operator',
  'GET /agents/:id/runs': 'viewer',
  'GET /runs/:id': 'viewer',
  'GET /runs/:id/events': 'viewer',
  'POST /runs/:id/cancel': 'operator',
  // Dead letters: listing runs (e.g. ?status=failed) reads; redriving one starts a new run.
  'GET /runs': 'viewer',
  'POST /runs/:id/redrive': 'operator',

  // Planned in DESIGN.md; listed so the features open with the intended roles.
  'GET /agents/:id/memory': 'viewer',
  'GET /agents/:id/memory/:key': 'viewer',
  'PUT /agents/:id/memory/:key': 'operator',
  'DELETE /agents/:id/memory/:key': 'operator',
  'POST /mesh/messages': 'operator',
  'GET /mesh/presence': 'viewer',
  'GET /mesh/dead-letters': 'viewer',
  'POST /mesh/dead-letters/:id/redrive': 'operator',
  'DELETE /mesh/dead-letters/:id': 'operator',
  'GET /tools': 'viewer',
  // SKREAVER_ENABLE_PROFILING=true only; the controller also insists on an admin JWT.
  'GET /debug/profile/cpu': 'admin',
  'GET /debug/profile/heap': 'admin',
};

// HEAD is GET without a body (Fastify adds one per GET route), so it follows the GET rule.
function keyOf(route: RouteKey): string {
  return `${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`;
}

/** Whether the route is on the public allow-list. */
export function isPublicRoute(route: RouteKey): boolean {
  return PUBLIC_ROUTES.has(keyOf(route));
}

/** The least role allowed on the route, or undefined when it has no rule. */
export function requiredRole(route: RouteKey): Role | undefined {
  return ACCESS_RULES[keyOf(route)];
}

/** Whether `role` may call the route. */
export function authorize(role: Role, route: RouteKey): AccessDecision {
  const required = requiredRole(route);
  if (required === undefined) return { allowed: false, reason: 'no_rule' };
  return RANK[role] >= RANK[required] ? { allowed: true } : { allowed: false, reason: 'role', required };
}
