import { z } from 'zod';

import type { EnvShape } from './define-config';

/**
 * One environment variable as docs/configuration.md shows it (tools/config-docs renders these). The meaning is the
 * field's `.describe()` text; a default computed at boot (a host name) is shown as the field's `.meta({ shownDefault })`.
 */
export interface EnvVariableDoc {
  readonly name: string;
  readonly description: string | undefined;
  /** The default as text (`undefined`: none); lists and strings as written in the environment. */
  readonly default: string | undefined;
  /** No default and not optional: the service does not start without it. */
  readonly required: boolean;
  /** Accepted values when the schema says (`1–100`, `development, production, test`). */
  readonly values: string | undefined;
}

function meta(schema: z.ZodType): Record<string, unknown> {
  return (z.globalRegistry.get(schema) as Record<string, unknown> | undefined) ?? {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function values(schema: z.ZodType): string | undefined {
  if (schema instanceof z.ZodNumber) {
    const { minValue, maxValue } = schema;
    if (minValue !== null && maxValue !== null) return `${minValue}–${maxValue}`;
    return undefined;
  }
  if (schema instanceof z.ZodEnum) return schema.options.map(String).join(', ');
  return undefined;
}

/** Describes every variable of a config shape: meaning, default, whether required, accepted values. */
export function documentEnv(shape: EnvShape): EnvVariableDoc[] {
  return Object.entries(shape).map(([name, field]) => {
    const info = meta(field);
    let schema: z.ZodType = field;
    let fallback: string | undefined;
    let required = true;
    // Unwrap transforms (a pipe's input is what the environment holds), defaults and optionals down to the base type.
    for (;;) {
      if (schema instanceof z.ZodPipe) schema = schema.in as z.ZodType;
      else if (schema instanceof z.ZodDefault) {
        fallback ??= text(schema.def.defaultValue);
        required = false;
        schema = schema.unwrap() as z.ZodType;
      } else if (schema instanceof z.ZodOptional) {
        required = false;
        schema = schema.unwrap() as z.ZodType;
      } else break;
    }
    const shown = info['shownDefault'];
    return {
      name,
      description: typeof info['description'] === 'string' ? info['description'] : undefined,
      default: typeof shown === 'string' ? shown : fallback === '' ? undefined : fallback,
      required,
      values: values(schema),
    };
  });
}
