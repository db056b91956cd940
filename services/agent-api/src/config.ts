import { parseApiKey } from '@skreaver/auth';
import { baseEnv, ConfigError, databaseEnv, defineConfig, envBoolean, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { runExecutionEnv } from '@skreaver/runs';
import { z } from 'zod';

/** agent-api's environment. */
export const AgentApiConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  PORT: envPort(8080),
  /** Largest accepted request body, bytes. */
  SKREAVER_MAX_BODY_SIZE: envInt(1024 * 1024, 1024, 100 * 1024 * 1024),
  /**
   * false: the runbook's "fallback to direct HTTP": agent-api executes runs itself, in-process (no run queue, no
   * coordinators; the RUN_* and SKREAVER_TOOLS_* settings below apply here), and the mesh routes answer 503.
   */
  SKREAVER_MESH_ENABLED: envBoolean(true),
  /** Runs (active + waiting) an agent may hold before mesh messages to it are refused with 429 `mesh_backpressure`. */
  SKREAVER_MESH_INBOX_LIMIT: envInt(1_000, 1, 10_000_000),
  /** Approximate MAXLEN of the mesh stream (older entries are trimmed). */
  SKREAVER_MESH_STREAM_MAXLEN: envInt(100_000, 100, 100_000_000),
  /** Attempts a run gets before it fails for good. */
  RUN_MAX_ATTEMPTS: envInt(3, 1, 100),
  /** How long `observe` and `batch` wait for runs by default, seconds. */
  RUN_WAIT_DEFAULT_SECONDS: envInt(30, 1, 300),
  /**
   * HMAC key of access tokens; required to start (see `requireJwtSecret`). Optional in the schema only so that
   * code needing other settings (feature unit tests) can load a config without inventing a secret.
   */
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters, e.g. `openssl rand -base64 48`').optional(),
  /** Lifetime of access tokens from `POST /auth/token`. */
  JWT_TTL_SECONDS: envInt(3600, 1, 7 * 86_400),
  /** An admin key (tenant `default`) created at start if missing; only its hash is stored. */
  SKREAVER_ADMIN_API_KEY: z
    .string()
    .refine((value) => parseApiKey(value) !== null, 'must look like sk_<10 lowercase letters or digits>_<32+ characters of A-Z a-z 0-9 _ ->')
    .optional(),
  /** Without SKREAVER_ADMIN_API_KEY: mint an admin key at start when none is usable, and print it once on stderr. */
  SKREAVER_GENERATE_ADMIN_KEY: envBoolean(false),
  /** Requests one subject (`key:<prefix>`, whether it sends the key or a token minted from it) may make per window; 0: no limit. */
  SKREAVER_RATE_LIMIT_PER_SUBJECT: envInt(600, 0, 10_000_000),
  /** Requests one client address may make per window, counted before authentication; 0: no limit. */
  SKREAVER_RATE_LIMIT_PER_IP: envInt(1200, 0, 10_000_000),
  /** The window both rate limits are counted over, seconds. */
  SKREAVER_RATE_LIMIT_WINDOW_SECONDS: envInt(60, 1, 86_400),
  /** true: the client address is the last one in X-Forwarded-For (appended by the proxy in front); else the peer address. */
  SKREAVER_TRUST_PROXY: envBoolean(false),
  /** Requests one replica works on at once before answering 503 `overloaded`; 0: no cap. */
  SKREAVER_MAX_IN_FLIGHT: envInt(1000, 0, 1_000_000),
  /** How runs execute in direct mode, as on a coordinator (RUN_EVENTS_TTL_SECONDS also applies to runs agent-api cancels). */
  ...runExecutionEnv,
});
export type AgentApiConfig = Config<typeof AgentApiConfig.shape>;

/** Injection token of the parsed config. */
export const AGENT_API_CONFIG = Symbol('AGENT_API_CONFIG');

/**
 * The JWT secret agent-api cannot start without.
 * @throws ConfigError naming JWT_SECRET_KEY (never its value) when it is unset.
 */
export function requireJwtSecret(config: Pick<AgentApiConfig, 'JWT_SECRET_KEY'>): string {
  if (config.JWT_SECRET_KEY === undefined) {
    throw new ConfigError(['JWT_SECRET_KEY=<missing> (required: at least 32 random characters, e.g. `openssl rand -base64 48`)']);
  }
  return config.JWT_SECRET_KEY;
}
