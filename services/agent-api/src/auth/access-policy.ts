import type { Role } from '@skreaver/contracts';

// Roles nest: each may do everything the ones below it may.
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * Routes served by libs/observability that need no credentials: probes and Prometheus scrapes come from
 * orchestrators that carry none. Listed by path because that library sits below the one that declares access
 * (`@Public()` / `@RequireRole()` in libs/http); every other route says who may call it on its handler.
 */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);

/** Whether `role` may call a route that needs at least `required`. */
export function roleAllows(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

/** Whether the request is a probe of libs/observability (GET, or its HEAD twin). */
export function isProbe(method: string, url: string): boolean {
  return (method === 'GET' || method === 'HEAD') && PROBE_PATHS.has(url);
}
