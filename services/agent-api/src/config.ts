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
});
export type AgentApiConfig = Config<typeof AgentApiConfig.shape>;

/** Injection token of the parsed config. */
export const AGENT_API_CONFIG = Symbol('AGENT_API_CONFIG');
