import type { Principal } from '@skreaver/contracts';

// Keyed by the request object itself: nothing to declare on Fastify's types, and gone with the request.
const principals = new WeakMap<object, Principal>();

/** Attaches the authenticated principal to the request (done once, by the auth guard). */
export function setPrincipal(request: object, principal: Principal): void {
  principals.set(request, principal);
}

/** The principal the auth guard attached to `request`, if any. */
export function principalOf(request: object): Principal | undefined {
  return principals.get(request);
}
