import type { PipeTransform } from '@nestjs/common';
import type { ValidationIssue } from '@skreaver/contracts';
import type { z } from 'zod';

import { ApiError } from './api-error';

/** Turns zod issues into `{path, message}` pairs with JSON-pointer-ish dotted paths. */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/** Parses a body, query or params object with a contract schema; failures answer 400 `validation_failed`. */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what: 'body' | 'query' | 'path parameters' | 'headers' = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    throw new ApiError(400, 'validation_failed', `Invalid request ${this.what}`, toValidationIssues(result.error));
  }
}
