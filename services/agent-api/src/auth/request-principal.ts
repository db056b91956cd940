import type { Principal } from '@skreaver/contracts';

// A field of the request object under a symbol only this module holds: nothing to declare on Fastify's types, gone
// with the request, and cheaper for the garbage collector than a WeakMap entry per request (request-admission.ts).
const PRINCIPAL = Symbol('skreaver.principal');

interface WithPrincipal {
  [PRINCIPAL]?: Principal;
}

/** Attaches the authenticated principal to the request (done once, by the auth guard). */
export function setPrincipal(request: object, principal: Principal): void {
  (request as WithPrincipal)[PRINCIPAL] = principal;
}

/** The principal the auth guard attached to `request`, if any. */
export function principalOf(request: object): Principal | undefined {
  return (request as WithPrincipal)[PRINCIPAL];
}
