import type { FastifyRequest } from 'fastify';

// Fastify's `request.routeOptions` is a getter that builds a new object of a dozen fields on every read; the
// pipeline asked it for the route template up to six times per request (the in-flight cap, the admission hook, the
// auth guard, the metrics hook). The template is read once and kept on the request under a symbol only this module
// holds; null stands for "no route matched".
const ROUTE = Symbol('skreaver.route');

interface WithRoute {
  [ROUTE]?: string | null;
}

/** The template of the route the request matched (`/agents/:id`), undefined when none did. */
export function routeOf(request: FastifyRequest): string | undefined {
  const known = (request as WithRoute)[ROUTE];
  if (known !== undefined) return known ?? undefined;
  const route = request.routeOptions.url;
  (request as WithRoute)[ROUTE] = route ?? null;
  return route;
}
