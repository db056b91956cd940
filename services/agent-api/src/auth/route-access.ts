import { Injectable } from '@nestjs/common';
import type { Access } from '@skreaver/http';

// Far more than the routes agent-api has; a bound only against surprises (each entry is one route template).
const MAX_ROUTES = 1_000;

/**
 * The access each route declares (`@RequireRole` / `@Public`), by method and Fastify route template, as the auth
 * guard found it. Fastify hooks run before Nest knows the handler: the admission hook looks a route up here to count
 * a request's subject only where the guard would let the caller through, as the guard does (the subject limit is its last step).
 * A route is learnt at its first request; until then its requests take the step-by-step path.
 */
@Injectable()
export class RouteAccess {
  private readonly routes = new Map<string, Access | undefined>();

  /** Records what the guard found for `method` `url` (a route template, e.g. `/agents/:id`). */
  learn(method: string, url: string, access: Access | undefined): void {
    const key = `${method} ${url}`;
    if (this.routes.has(key) || this.routes.size >= MAX_ROUTES) return;
    this.routes.set(key, access);
  }

  /** The access of `method` `url`, undefined when not learnt yet or declared by nobody. */
  of(method: string, url: string): Access | undefined {
    return this.routes.get(`${method} ${url}`);
  }
}
