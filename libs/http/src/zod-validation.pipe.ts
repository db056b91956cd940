import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import type { ValidationIssue } from '@skreaver/contracts';
import { z } from 'zod';

import { ApiError } from './api-error';

/** Turns zod issues into `{path, message}` pairs with JSON-pointer-ish dotted paths. */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/** The part of a request a schema checks, as the error message names it. */
export type RequestPart = 'body' | 'query' | 'path parameters' | 'headers';

/** Parses `value` with `schema`. @throws ApiError 400 `validation_failed` listing every issue. */
export function parseRequestPart<S extends z.ZodType>(schema: S, value: unknown, what: RequestPart): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ApiError(400, 'validation_failed', `Invalid request ${what}`, toValidationIssues(result.error));
}

/** Parses one value with a contract schema; for what no DTO describes (a single header, an optional body). */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what: RequestPart = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    return parseRequestPart(this.schema, value, this.what);
  }
}

const PARTS: Partial<Record<ArgumentMetadata['type'], RequestPart>> = { body: 'body', query: 'query', param: 'path parameters' };

/**
 * The one global pipe of every service: a `@Body()`, `@Query()` or `@Param()` typed with a DTO made by
 * `createZodDto(schema)` is parsed with that schema (defaults and transforms applied); anything else passes untouched.
 */
export class ZodDtoValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const what = PARTS[metadata.type];
    const schema = what ? dtoSchemaOf(metadata.metatype) : undefined;
    return schema && what ? parseRequestPart(schema, value, what) : value;
  }
}

/** The schema of a DTO made by nestjs-zod's `createZodDto` (`isZodDto` and `schema` statics), or undefined for any other type. */
function dtoSchemaOf(metatype: unknown): z.ZodType | undefined {
  if (typeof metatype !== 'function' || !('isZodDto' in metatype) || metatype.isZodDto !== true || !('schema' in metatype)) return undefined;
  if (!(metatype.schema instanceof z.ZodType)) throw new Error(`${metatype.name}: a DTO of the global validation pipe must be made from a zod schema`);
  return metatype.schema;
}
