import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ApiErrorBody } from '@skreaver/contracts';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

/** `{"error","message","details"?,"request_id"}`: the body of every error answer, as an OpenAPI model. */
export class ApiErrorBodyDto extends createZodDto(ApiErrorBody) {}

/**
 * Documents the errors particular to a handler, each answered with the error body:
 * `@ApiErrors({ 404: 'No such agent in the caller\'s tenant' })`. Errors every route may answer (validation,
 * authentication, rate limits, outages, 500) are added to the whole document by the service.
 */
export const ApiErrors = (errors: Readonly<Record<number, string>>): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ...Object.entries(errors).map(([status, description]) => ApiResponse({ status: Number(status), description, type: ApiErrorBodyDto.Output })),
  );

/** The JSON Schema of a zod schema, as OpenAPI 3.1 embeds it (for headers, which no DTO describes). */
export function openApiSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return rest;
}
