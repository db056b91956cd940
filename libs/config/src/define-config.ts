import { z } from 'zod';

import { documentEnv } from './document-env';
import type { EnvVariableDoc } from './document-env';

/** Thrown at boot when the environment does not satisfy a service's schema; lists every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid environment: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const SECRET_NAME = /SECRET|PASSWORD|TOKEN|API_KEY|PRIVATE/i;

/** Values that could hold credentials are never echoed back, even in an error. */
function printable(name: string, value: string | undefined): string {
  if (value === undefined) return '<missing>';
  if (SECRET_NAME.test(name)) return '<redacted>';
  // user:password@host in any shape (with or without a scheme, a '/' inside the password): never echo it.
  if (/[^\s@]*:[^\s]*@/.test(value)) return '<value with credentials>';
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

export type EnvShape = Record<string, z.ZodType>;
export type Config<S extends EnvShape> = z.infer<z.ZodObject<S>>;
export type Environment = Readonly<Record<string, string | undefined>>;

/** A service's configuration: `load()` parses the environment once and throws a `ConfigError` naming every bad variable. */
export interface ConfigDefinition<S extends EnvShape> {
  readonly shape: S;
  load(env?: Environment): Config<S>;
  /** Every variable with its meaning, default and accepted values, for docs/configuration.md. */
  document(): EnvVariableDoc[];
}

/** Declares a service's environment schema (keys are variable names). */
export function defineConfig<S extends EnvShape>(shape: S): ConfigDefinition<S> {
  const schema = z.object(shape);
  return {
    shape,
    load(env: Environment = process.env): Config<S> {
      // Empty strings mean "unset", so `FOO= npm start` falls back to the default instead of failing.
      const input: Record<string, string | undefined> = {};
      for (const key of Object.keys(shape)) input[key] = env[key] === '' ? undefined : env[key];
      // The runbook sets RUST_LOG (`info,skreaver=debug`); it stands in for LOG_LEVEL when that is unset.
      if ('LOG_LEVEL' in shape && input['LOG_LEVEL'] === undefined && env['RUST_LOG']) input['LOG_LEVEL'] = env['RUST_LOG'];
      const result = schema.safeParse(input);
      if (result.success) return result.data;
      const problems = result.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '(root)');
        return `${name}=${printable(name, input[name])} (${issue.message})`;
      });
      throw new ConfigError(problems);
    },
    document: () => documentEnv(shape),
  };
}
