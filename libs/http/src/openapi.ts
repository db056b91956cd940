import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ApiErrorBody } from '@skreaver/contracts';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

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

const NESTJS_ZOD_MARKER = 'x-nestjs_zod';
// Keywords that describe a property as a whole and stay beside `anyOf`; every other keyword constrains the value.
const ANNOTATIONS = new Set(['required', 'description', 'title', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly']);

/**
 * Zod writes a nullable scalar as `type: ["string", "null"]`, which Nest's swagger reads as "an array of strings".
 * Rewrites each such property of nestjs-zod's metadata as `anyOf: [{type: "string", …constraints}, {type: "null"}]`.
 */
export function documentNullableScalars(properties: unknown): unknown {
  if (!properties || typeof properties !== 'object') return properties;
  const fixed: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    const type = (property as { type?: unknown } | null)?.type;
    if (!Array.isArray(type) || !type.includes('null')) {
      fixed[name] = property;
      continue;
    }
    const kept: Record<string, unknown> = {};
    const constraints: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(property as Record<string, unknown>)) {
      if (key === 'type') continue;
      if (key.startsWith(NESTJS_ZOD_MARKER) || ANNOTATIONS.has(key)) kept[key] = value;
      else constraints[key] = value;
    }
    const scalar = type.filter((member) => member !== 'null');
    // An empty type with nestjs-zod's empty-type marker is how it passes a typeless (anyOf) property through Nest.
    fixed[name] = { ...kept, type: '', [`${NESTJS_ZOD_MARKER}-empty-type`]: true, anyOf: [{ type: scalar.length === 1 ? scalar[0] : scalar, ...constraints }, { type: 'null' }] };
  }
  return fixed;
}

type OpenApiFactoryHolder = { _OPENAPI_METADATA_FACTORY(): unknown };

/**
 * A nestjs-zod DTO (`documented(createZodDto(Schema))`) whose OpenAPI model, input and `Output`, shows nullable
 * scalars as nullable rather than as arrays (`documentNullableScalars`).
 */
export function documented<T extends object>(dto: T): T {
  patchFactory(dto as unknown as OpenApiFactoryHolder);
  const output = Object.getOwnPropertyDescriptor(dto, 'Output')?.get;
  if (output) {
    Object.defineProperty(dto, 'Output', {
      configurable: true,
      get(this: T) {
        const made = output.call(this) as OpenApiFactoryHolder;
        patchFactory(made);
        return made;
      },
    });
  }
  return dto;
}

function patchFactory(holder: OpenApiFactoryHolder): void {
  const original = holder._OPENAPI_METADATA_FACTORY.bind(holder);
  Object.defineProperty(holder, '_OPENAPI_METADATA_FACTORY', { configurable: true, value: () => documentNullableScalars(original()) });
}

/** `{"error","message","details"?,"request_id"}`: the body of every error answer, as an OpenAPI model. */
export class ApiErrorBodyDto extends documented(createZodDto(ApiErrorBody)) {}
