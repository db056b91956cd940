import { baseEnv, databaseEnv, defineConfig, envBoolean, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';

/** agent-api's environment. */
export const AgentApiConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  PORT: envPort(8080),
  /** Largest accepted request body, bytes. */
  SKREAVER_MAX_BODY_SIZE: envInt(1024 * 1024, 1024, 100 * 1024 * 1024),
  /** false: the runbook's "fallback to direct HTTP" (mesh routes answer 503). */
  SKREAVER_MESH_ENABLED: envBoolean(true),
  /** Attempts a run gets before it fails for good. */
  RUN_MAX_ATTEMPTS: envInt(3, 1, 100),
  /** How long a finished run's event log stays in Redis once archived (agent-api archives runs it cancels). */
  RUN_EVENTS_TTL_SECONDS: envInt(86_400, 1, 31_536_000),
  /** How long `observe` and `batch` wait for runs by default, seconds. */
  RUN_WAIT_DEFAULT_SECONDS: envInt(30, 1, 300),
});
export type AgentApiConfig = Config<typeof AgentApiConfig.shape>;

/** Injection token of the parsed config. */
export const AGENT_API_CONFIG = Symbol('AGENT_API_CONFIG');
