import { z } from 'zod';

import { parseLogLevel } from './log-level';

/** `true/false/1/0/yes/no/on/off`. */
export const envBoolean = (fallback: boolean) => z.stringbool().default(fallback);

export const envPort = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

export const envInt = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const redisUrl = z
  .string()
  .regex(/^(rediss?|redis-sentinel):\/\//, 'must start with redis://, rediss:// or redis-sentinel://')
  .default('redis://127.0.0.1:6379');

const logLevel = z
  .string()
  .default('info')
  .transform((value, ctx) => {
    const level = parseLogLevel(value);
    if (!level) {
      ctx.addIssue({ code: 'custom', message: 'expected trace|debug|info|warn|error, optionally as "info,skreaver=debug"' });
      return z.NEVER;
    }
    return level;
  });

/** Variables every service reads. */
export const baseEnv = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Also read from the runbook's RUST_LOG when unset. */
  LOG_LEVEL: logLevel,
  REDIS_URL: redisUrl,
  /** Prefix of every Redis key; the Redis Cluster hash tag of the BullMQ keys is derived from it. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)')
    .default('skreaver'),
  SHUTDOWN_TIMEOUT_MS: envInt(25_000, 0, 600_000),
  SKREAVER_ENABLE_PROFILING: envBoolean(false),
};

/** Variables of the services that use the database. */
export const databaseEnv = {
  /** `postgres://…` selects PostgreSQL; unset means the SQLite file under SKREAVER_DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^(postgres|postgresql|sqlite):/, 'must start with postgres://, postgresql:// or sqlite:')
    .optional(),
  DATABASE_POOL_SIZE: envInt(10, 1, 1_000),
  SKREAVER_DATA_DIR: z.string().min(1).default('./.skreaver'),
};
