import { hostname } from 'node:os';

import { DEFAULT_RUN_LIMITS, NetworkPolicy } from '@skreaver/agent-runtime';
import { baseEnv, databaseEnv, defineConfig, envBoolean, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { z } from 'zod';

/** A comma-separated list variable, trimmed, empties dropped. */
const envList = () =>
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    );

/** mesh-coordinator's environment. */
export const MeshCoordinatorConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  PORT: envPort(8082),
  /** Only to check admin tokens on the profiling routes (SKREAVER_ENABLE_PROFILING=true). */
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters, the secret agent-api signs tokens with').optional(),
  /** Attempts each run gets (used when this coordinator enqueues a run that waited for its agent). */
  RUN_MAX_ATTEMPTS: envInt(3, 1, 100),
  /** Runs one coordinator executes at once. */
  RUN_WORKER_CONCURRENCY: envInt(16, 1, 1_000),
  /** A run whose worker stops renewing its lock for this long is handed to another worker. */
  RUN_LOCK_DURATION_MS: envInt(30_000, 1_000, 3_600_000),
  /** How long a finished run's event log stays in Redis after it is archived to the database. */
  RUN_EVENTS_TTL_SECONDS: envInt(86_400, 1, 31_536_000),
  /** Name of this coordinator in events and presence; pod name in Kubernetes. */
  WORKER_ID: z.string().min(1).max(128).default(`${hostname()}-${process.pid}`),

  /** Default per-agent limits (an agent's config `limits` overrides each): one attempt's wall-clock time. */
  RUN_TIMEOUT_MS: envInt(DEFAULT_RUN_LIMITS.timeoutMs, 1, 86_400_000),
  /** Steps one attempt may take. */
  RUN_MAX_STEPS: envInt(DEFAULT_RUN_LIMITS.maxSteps, 1, 10_000),
  /** Tool calls one attempt may make. */
  RUN_MAX_TOOL_CALLS: envInt(DEFAULT_RUN_LIMITS.maxToolCalls, 0, 10_000),
  /** Bytes of a run's output (its JSON). */
  RUN_MAX_OUTPUT_BYTES: envInt(DEFAULT_RUN_LIMITS.maxOutputBytes, 1, 64 * 1024 * 1024),

  /** Comma-separated modules (paths or package names) exporting `defineAgent()` kinds, loaded at boot. */
  SKREAVER_AGENT_PLUGINS: envList(),

  /** Lets tools and agents reach private, loopback and link-local addresses (trusted single-host setups only). */
  SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS: envBoolean(false),
  /** Comma-separated CIDRs, addresses or host names reachable despite being private (e.g. `10.1.0.0/16,db.internal`). */
  SKREAVER_TOOLS_ALLOWED_NETWORKS: envList().refine(
    (entries) => {
      try {
        NetworkPolicy.create({ allowedNetworks: entries });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'each entry must be a CIDR, an IP address or a host name' },
  ),
  /** When set, outbound HTTP may only reach these comma-separated domains (and their subdomains). */
  SKREAVER_TOOLS_HTTP_ALLOW_DOMAINS: envList(),
  /** Comma-separated domains (and their subdomains) outbound HTTP may never reach. */
  SKREAVER_TOOLS_HTTP_DENY_DOMAINS: envList(),
  /** Longest an outbound HTTP request (redirects included) may take. */
  SKREAVER_TOOLS_HTTP_TIMEOUT_MS: envInt(30_000, 100, 600_000),
  /** Largest outbound HTTP response body, bytes. */
  SKREAVER_TOOLS_HTTP_MAX_RESPONSE_BYTES: envInt(1024 * 1024, 1_024, 64 * 1024 * 1024),

  /** Default OpenAI-compatible API root of `llm` agents, e.g. `https://api.openai.com/v1` (trusted: no network policy). */
  SKREAVER_LLM_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Sent only to SKREAVER_LLM_BASE_URL. */
  SKREAVER_LLM_API_KEY: z.string().min(1).optional(),
  SKREAVER_LLM_MODEL: z.string().min(1).max(200).optional(),

  /** false: the runbook's "fallback to direct HTTP"; this coordinator then consumes no mesh messages. */
  SKREAVER_MESH_ENABLED: envBoolean(true),
  /** Runs (active + waiting) an agent may hold before mesh messages to it are refused (429 / a failed tool result). */
  SKREAVER_MESH_INBOX_LIMIT: envInt(1_000, 1, 10_000_000),
  /** Mesh entries pending this long (a dead coordinator's, a failed delivery's) are reclaimed by another consumer. */
  SKREAVER_MESH_CLAIM_IDLE_MS: envInt(30_000, 100, 3_600_000),
  /** Deliveries of one mesh entry before it goes to the dead-letter stream. */
  SKREAVER_MESH_MAX_DELIVERIES: envInt(5, 1, 100),
  /** Approximate MAXLEN of the mesh stream (older entries are trimmed). */
  SKREAVER_MESH_STREAM_MAXLEN: envInt(100_000, 100, 100_000_000),
  /** Period of this coordinator's presence heartbeat; it counts as gone after three missed beats. */
  SKREAVER_MESH_HEARTBEAT_MS: envInt(5_000, 100, 60_000),

  /** Agent memory limits, as agent-api enforces them: largest value (UTF-8 bytes of its JSON). */
  SKREAVER_MEMORY_MAX_VALUE_BYTES: envInt(65_536, 1, 16 * 1024 * 1024),
  /** Most live keys one agent may hold. */
  SKREAVER_MEMORY_MAX_KEYS: envInt(10_000, 1, 10_000_000),
});
export type MeshCoordinatorConfig = Config<typeof MeshCoordinatorConfig.shape>;

export const MESH_COORDINATOR_CONFIG = Symbol('MESH_COORDINATOR_CONFIG');
