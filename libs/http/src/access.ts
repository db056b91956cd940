import { SetMetadata, applyDecorators } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import type { Role } from '@skreaver/contracts';

/** Who may call a handler: the least role, or anybody (`public`). */
export type Access = Role | 'public';

/** Metadata key of `@RequireRole()` and `@Public()`, read by a service's auth guard. */
export const ACCESS_METADATA = 'skreaver:access';

/** The OpenAPI extension that carries the same decision into the generated document (`x-access`). */
export const ACCESS_EXTENSION = 'x-access';

/**
 * The least role that may call the handler (roles nest: viewer < operator < admin). A service's auth guard refuses a
 * handler that has neither this nor `@Public()`: a new endpoint stays closed until someone decides who may call it.
 */
export const RequireRole = (role: Role): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ACCESS_METADATA, role), ApiExtension(ACCESS_EXTENSION, role));

/** Marks a handler as callable without credentials: the auth guard lets it through untouched. */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ACCESS_METADATA, 'public'), ApiExtension(ACCESS_EXTENSION, 'public'));

/** The access declared on the handler (or its controller), if any. */
export function accessOf(reflector: Reflector, context: ExecutionContext): Access | undefined {
  return reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]);
}
