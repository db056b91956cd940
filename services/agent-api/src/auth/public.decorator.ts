import { SetMetadata } from '@nestjs/common';

/** Metadata key set by `@Public()`. */
export const IS_PUBLIC = 'skreaver:auth:public';

/** Marks a handler (or controller) as callable without credentials: the auth guard lets it through untouched. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
