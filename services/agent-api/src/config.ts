import { parseApiKey } from '@skreaver/auth';
import { baseEnv, ConfigError, databaseEnv, defineConfig, envBoolean, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { runExecutionEnv, runLifecycleEnv } from '@skreaver/runs';
import { z } from 'zod';

/** agent-api's environment. */
export const AgentApiConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  ...runLifecycleEnv,
  PORT: envPort(8080).describe('HTTP port.'),
  SKREAVER_MAX_BODY_SIZE: envInt(1024 * 1024, 1024, 100 * 1024 * 1024).describe(
    'Largest request body, bytes: 413 `payload_too_large` above.',
  ),
  RUN_WAIT_DEFAULT_SECONDS: envInt(30, 1, 300).describe(
    'How long `observe` and `batch` wait for their runs when the request names no timeout, seconds.',
  ),
  // Required to start (see `requireJwtSecret`); optional in the schema only so that code needing other settings
  // (feature unit tests) can load a config without inventing a secret.
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters, e.g. `openssl rand -base64 48`').optional().describe(
    'HMAC (HS256) key of access tokens, at least 32 characters (`openssl rand -base64 48`); agent-api does not start without it. `npm start` keeps one in `./.skreaver/jwt-secret`.',
  ),
  JWT_TTL_SECONDS: envInt(3600, 1, 7 * 86_400).describe(
    'Lifetime of access tokens from `POST /auth/token`, never beyond the expiry of the key they came from.',
  ),
  SKREAVER_ADMIN_API_KEY: z
    .string()
    .refine((value) => parseApiKey(value) !== null, 'must look like sk_<10 lowercase letters or digits>_<32+ characters of A-Z a-z 0-9 _ ->')
    .optional()
    .describe('An admin key of tenant `default` (`sk_<10 lowercase letters or digits>_<32+ characters>`) created at start if missing; only its hash is stored.'),
  SKREAVER_GENERATE_ADMIN_KEY: envBoolean(false).describe(
    'Without `SKREAVER_ADMIN_API_KEY`: mint an admin key when tenant `default` has none usable, and print it once on stderr (`npm start` sets it to `true`).',
  ),
  SKREAVER_ADMIN_KEY_FD: z.coerce.number().int().min(3).max(1_023).optional().describe(
    'With `SKREAVER_GENERATE_ADMIN_KEY`: write a generated key (one line) to this open file descriptor instead of printing a banner on stderr. `npm start` passes a pipe and shows the key in its own banner.',
  ),
  SKREAVER_RATE_LIMIT_PER_SUBJECT: envInt(600, 0, 10_000_000).describe(
    'Requests per window for one subject (an API key and the tokens minted from it); 0 turns the limit off.',
  ),
  SKREAVER_RATE_LIMIT_PER_IP: envInt(1200, 0, 10_000_000).describe(
    'Requests per window for one client address, counted before authentication; 0 turns the limit off.',
  ),
  SKREAVER_RATE_LIMIT_WINDOW_SECONDS: envInt(60, 1, 86_400).describe(
    'The window both rate limits are counted over, seconds.',
  ),
  SKREAVER_TRUST_PROXY: envBoolean(false).describe(
    '`true`: the client address is the last `X-Forwarded-For` entry (set it only behind a proxy that appends it); else the TCP peer.',
  ),
  SKREAVER_MAX_IN_FLIGHT: envInt(1000, 0, 1_000_000).describe(
    'Requests one replica works on at once; beyond it 503 `overloaded` with `Retry-After: 1`; 0 turns the cap off.',
  ),
  SKREAVER_CONSOLE_GATEWAY_URL: z
    .string()
    .regex(/^https?:\/\/[^/\s?#@]+\/?$/, 'must be an origin such as http://localhost:8081 (scheme, host and port; no path)')
    .optional()
    .describe(
      'ws-gateway as browsers reach it (an origin, e.g. `http://localhost:8081`): the web console\'s live timeline connects there, and the console\'s Content-Security-Policy allows it. Unset: the console\'s own origin (an Ingress or the nginx edge routes `/socket.io` to the gateway). `npm start` sets it.',
    ),
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
