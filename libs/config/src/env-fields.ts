import { z } from 'zod';

import { LOG_FORMATS, parseLogLevel } from './log-level';

/** `true/false/1/0/yes/no/on/off`. */
export const envBoolean = (fallback: boolean) => z.stringbool().default(fallback);

export const envPort = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

export const envInt = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

// host, [v6], host:port, [v6]:port: the node list of a cluster URL (parsed in full by @skreaver/messaging).
const HOST_PORT = String.raw`(?:\[[0-9a-fA-F:.]+\]|[^\s:/?#@,\[\]]+)(?::\d{1,5})?`;
const CLUSTER_URL = new RegExp(String.raw`^redis-cluster://(?:[^@/\s]*@)?${HOST_PORT}(?:,${HOST_PORT})*/?(?:\?[^#\s]*)?$`);

const redisUrl = z
  .string()
  .regex(/^(rediss?|redis-sentinel|redis-cluster):\/\//, 'must start with redis://, rediss://, redis-sentinel:// or redis-cluster://')
  .refine((url) => !url.startsWith('redis-cluster://') || CLUSTER_URL.test(url), {
    message: 'a cluster URL lists its nodes: redis-cluster://[user:password@]host:port,host:port[?tls=true]',
  })
  .refine((url) => !url.startsWith('redis-cluster://') || !/[?&]db=/.test(url), {
    message: 'a Redis Cluster has only database 0: remove db=',
  })
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
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development').describe(
    'Runtime mode; the built images and the chart set `production`.',
  ),
  HOST: z.string().min(1).default('0.0.0.0').describe('Listen address.'),
  LOG_LEVEL: logLevel.describe(
    '`trace`, `debug`, `info`, `warn` or `error`; the `RUST_LOG` style `info,skreaver=debug` is accepted too, and `RUST_LOG` is read when `LOG_LEVEL` is unset.',
  ),
  LOG_FORMAT: z.enum(LOG_FORMATS).optional().describe(
    '`json` (one object per line, the runbook format) or `pretty` (coloured, human-readable lines; `NO_COLOR` turns the colours off). Unset: `pretty` when stdout is a terminal, `json` otherwise.',
  ),
  REDIS_URL: redisUrl.describe(
    '`redis://`, `rediss://`, `redis-sentinel://h1:26379,h2:26379/<master>` (Sentinel) or `redis-cluster://h1:6379,h2:6379` (Redis Cluster: some nodes of it, `?tls=true` for TLS).',
  ),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)')
    .default('skreaver')
    .describe('Prefix of every Redis key (letters, digits, `_ . -`, at most 64); the keys of the run queue live under `{prefix}`, one Redis Cluster slot.'),
  SHUTDOWN_TIMEOUT_MS: envInt(25_000, 0, 600_000).describe(
    'How long SIGTERM may take to drain before the process exits 1.',
  ),
  SKREAVER_ENABLE_PROFILING: envBoolean(false).describe(
    'Serve the admin-only `GET /debug/profile/cpu?seconds=N` and `GET /debug/profile/heap` (every service then needs `JWT_SECRET_KEY`).',
  ),
};

/** Variables of the services that use the database. */
export const databaseEnv = {
  DATABASE_URL: z
    .string()
    .regex(/^(postgres|postgresql|sqlite):/, 'must start with postgres://, postgresql:// or sqlite:')
    .optional()
    .describe('`postgres://…` (or `postgresql://…`) for PostgreSQL, or `sqlite:/path/file.db`; unset: the SQLite file under `SKREAVER_DATA_DIR`.'),
  DATABASE_POOL_SIZE: envInt(10, 1, 1_000).describe('PostgreSQL pool size (`skreaver_db_connections_max`).'),
  SKREAVER_DATA_DIR: z.string().min(1).default('./.skreaver').describe(
    'Where the SQLite file lives (and the disk the disk metrics measure).',
  ),
  SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES: envInt(0, 0, Number.MAX_SAFE_INTEGER).describe(
    'Size limit of the volume under `SKREAVER_DATA_DIR` (a Kubernetes emptyDir `sizeLimit`; the chart sets it): the disk metrics then report the bytes in that directory against this limit instead of the host file system, which such a volume shares. 0: the file system.',
  ),
};
