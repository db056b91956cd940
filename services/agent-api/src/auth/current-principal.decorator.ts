import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { Principal } from '@skreaver/contracts';

import { principalOf } from './request-principal';

/**
 * The authenticated caller of the request: `handler(@CurrentPrincipal() principal: Principal)`; scope every
 * read and write to `principal.tenant_id`. Using it on a `@Public()` route is a programming error (500).
 */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = principalOf(context.switchToHttp().getRequest<object>());
  if (!principal) throw new Error('@CurrentPrincipal() used on a route the auth guard did not authenticate');
  return principal;
});
