import { hostname } from 'node:os';

import { DEFAULT_RUN_LIMITS, NetworkPolicy, parsePluginList } from '@skreaver/agent-runtime';
import { envBoolean, envInt } from '@skreaver/config';
import { DEFAULT_JOB_RETENTION } from '@skreaver/messaging';
import type { FinishedJobRetention } from '@skreaver/messaging';
import type { Config } from '@skreaver/config';
import { z } from 'zod';

/** A comma-separated list variable, trimmed, empties dropped (the syntax of SKREAVER_AGENT_PLUGINS). */
const envList = () => z.string().default('').transform(parsePluginList);

/**
 * Agent memory limits: agent-api enforces them on `/agents/{id}/memory`, whoever executes runs on the memory tools,
 * so both read the same variables.
 */
export const agentMemoryEnv = {
  SKREAVER_MEMORY_MAX_VALUE_BYTES: envInt(65_536, 1, 16 * 1024 * 1024).describe(
    'Largest agent memory value, in UTF-8 bytes of its compact JSON; a larger write answers 413 `memory_value_too_large`.',
  ),
  SKREAVER_MEMORY_MAX_KEYS: envInt(10_000, 1, 10_000_000).describe(
    'Most live memory keys one agent may hold; writing one more new key answers 409 `memory_full`.',
  ),
};

/**
 * Settings every process that creates or hands out runs reads alike (agent-api and every coordinator): the mode, the
 * attempts a run gets, and the mesh's inbox and stream bounds. Spread into the service's `defineConfig`.
 */
export const runLifecycleEnv = {
  SKREAVER_MESH_ENABLED: envBoolean(true).describe(
    '`false`: direct mode, the runbook\'s "fallback to direct HTTP": agent-api executes runs itself, in-process (no run queue, no coordinators; the `RUN_*`, `SKREAVER_TOOLS_*`, `SKREAVER_LLM_*` and `SKREAVER_AGENT_PLUGINS` settings then apply to agent-api), the mesh routes answer 503 `mesh_disabled`, and coordinators consume no mesh messages.',
  ),
  SKREAVER_MESH_INBOX_LIMIT: envInt(1_000, 1, 10_000_000).describe(
    'Runs (active + waiting) an agent may hold before mesh messages to it are refused: 429 `mesh_backpressure`, or a failed (retryable) tool result.',
  ),
  SKREAVER_MESH_STREAM_MAXLEN: envInt(100_000, 100, 100_000_000).describe(
    'Approximate length of the mesh stream (`MAXLEN ~`): older entries are trimmed.',
  ),
  SKREAVER_EVENTS_STREAM_MAXLEN: envInt(100_000, 1_000, 100_000_000).describe(
    'Approximate length of the global event stream every gateway tails (`MAXLEN ~`): its Redis memory (~330 B per entry for echo runs, see docs/operating.md#bounded-memory) and how far back a subscription without a run id can resume with `after`; older entries are trimmed. Set it alike on agent-api and the coordinators.',
  ),
  RUN_QUEUE: z.enum(['streams', 'bullmq']).default('streams').describe(
    'Which Redis queue carries run jobs: `streams` (a Redis stream and consumer group, keys `{<prefix>}:sq:runs.v1:*`) or `bullmq` (BullMQ, keys `{<prefix>}:runs.v1:*`, what releases before it used). Set it alike on agent-api and every coordinator: a job put on one queue is never read from the other (the reconciler moves such a run to the configured queue after `RUN_RECONCILE_GRACE_MS`).',
  ),
  RUN_JOBS_COMPLETED_KEEP: envInt(DEFAULT_JOB_RETENTION.completed.count, 0, 10_000_000).describe(
    'Completed run jobs the run queue keeps in Redis (the newest); older ones are removed as jobs complete. `0` removes each job as it completes. The run\'s row, not its job, is the record.',
  ),
  RUN_JOBS_COMPLETED_MAX_AGE_SECONDS: envInt(DEFAULT_JOB_RETENTION.completed.ageSeconds, 1, 31_536_000).describe(
    'Longest a completed run job is kept in Redis, whatever RUN_JOBS_COMPLETED_KEEP allows.',
  ),
  RUN_JOBS_FAILED_KEEP: envInt(DEFAULT_JOB_RETENTION.failed.count, 0, 10_000_000).describe(
    'Failed run jobs (out of attempts) the run queue keeps in Redis for inspection (the newest); `0` removes each as it fails.',
  ),
  RUN_JOBS_FAILED_MAX_AGE_SECONDS: envInt(DEFAULT_JOB_RETENTION.failed.ageSeconds, 1, 31_536_000).describe(
    'Longest a failed run job is kept in Redis, whatever RUN_JOBS_FAILED_KEEP allows.',
  ),
  RUN_MAX_ATTEMPTS: envInt(3, 1, 100).describe(
    'Attempts a run gets before it fails for good, with exponential backoff between them (agent-api and the coordinators both enqueue runs: set it alike).',
  ),
};

/**
 * The environment of a process that executes runs (mesh-coordinator; agent-api in direct mode): agent kinds, default
 * limits, the tools' network policy, the LLM endpoint and memory limits. Spread into the service's `defineConfig`.
 */
export const runExecutionEnv = {
  ...agentMemoryEnv,
  RUN_WORKER_CONCURRENCY: envInt(16, 1, 1_000).describe('Runs one process executes at once.'),
  // An hour, not a day: the archive serves an expired log's replays, and a day of logs is ~80 GB at 200 runs/s.
  RUN_EVENTS_TTL_SECONDS: envInt(3_600, 1, 31_536_000).describe(
    'How long a finished run\'s event log stays in Redis after it is archived to the database; replays of older runs read the archive.',
  ),
  RUN_DIRECT_LEASE_MS: envInt(10_000, 1_000, 3_600_000).describe(
    'Direct mode: how long a run an agent-api executes stays claimed by it without renewal (renewed every third of it). Open runs whose process died (SIGKILL, crash) are resumed by a direct-mode agent-api (the restarted one, or another on the same database and Redis) within about twice this, replaying their journals.',
  ),
  WORKER_ID: z.string().min(1).max(128).default(`${hostname()}-${process.pid}`).meta({
    description: 'Name of this process in events and presence; the pod name in Kubernetes.',
    shownDefault: '`<hostname>-<pid>`',
  }),

  RUN_TIMEOUT_MS: envInt(DEFAULT_RUN_LIMITS.timeoutMs, 1, 86_400_000).describe(
    'Default wall-clock limit of one attempt (an agent\'s config `limits.timeout_ms` overrides it); beyond it the run fails with `run_timeout`.',
  ),
  RUN_MAX_STEPS: envInt(DEFAULT_RUN_LIMITS.maxSteps, 1, 10_000).describe(
    'Default steps one attempt may take (`limits.max_steps`); beyond it `max_steps_exceeded`.',
  ),
  RUN_MAX_TOOL_CALLS: envInt(DEFAULT_RUN_LIMITS.maxToolCalls, 0, 10_000).describe(
    'Default tool calls one attempt may make (`limits.max_tool_calls`); beyond it `max_tool_calls_exceeded`.',
  ),
  RUN_INPUT_TIMEOUT_SECONDS: envInt(86_400, 1, 30 * 86_400).describe(
    'How long a run waits for human input (`request_input`, `context.waitForInput`, a tool approval) when the request sets no `timeout_seconds`; past it the run fails with `input_timeout`, or goes on with the request\'s `default`.',
  ),
  RUN_INPUT_SWEEP_INTERVAL_MS: envInt(5_000, 100, 3_600_000).describe(
    'How often one of the processes that execute runs (coordinators; agent-api in direct mode) ends the waits for input that expired.',
  ),
  // Database rows cost disk, not memory: the default keeps them, so an upgrade never deletes history nobody asked to.
  SKREAVER_RETENTION_RUNS_DAYS: envInt(0, 0, 36_500).describe(
    'Days a finished run (completed, failed, cancelled) is kept after it finished, with its archived events and steps; then the retention sweep deletes it. `0` (the default) keeps runs forever; 30 suits most deployments. Open and waiting runs are never deleted.',
  ),
  SKREAVER_RETENTION_AUDIT_DAYS: envInt(0, 0, 36_500).describe(
    'Days an audit log entry is kept; `0` (the default) keeps the audit log forever.',
  ),
  SKREAVER_RETENTION_DEAD_LETTERS_DAYS: envInt(14, 0, 36_500).describe(
    'Days a mesh dead letter is kept in the dead-letter stream (also bounded to about 100,000 entries on every append); `0` keeps them until that bound.',
  ),
  SKREAVER_RETENTION_SWEEP_INTERVAL_MS: envInt(60_000, 1_000, 86_400_000).describe(
    'How often one of the processes that execute runs (coordinators; agent-api in direct mode) deletes what outlived its retention; a sweep spends at most half of it, in batches.',
  ),
  SKREAVER_RETENTION_BATCH_SIZE: envInt(1_000, 1, 100_000).describe(
    'Rows (or dead letters) one retention delete statement removes at most: small batches keep each statement short on a large table.',
  ),
  RUN_MAX_OUTPUT_BYTES: envInt(DEFAULT_RUN_LIMITS.maxOutputBytes, 1, 64 * 1024 * 1024).describe(
    'Default largest run output, bytes of its JSON (`limits.max_output_bytes`); beyond it `output_too_large`.',
  ),

  THREAD_MAX_MESSAGES: envInt(200, 2, 100_000).describe(
    'Most messages a thread keeps: when a completed turn would exceed it, the oldest are dropped (a tool-calling assistant message together with its tool results); the `llm` kind sends what is kept.',
  ),
  THREAD_MAX_BYTES: envInt(256 * 1024, 1_024, 64 * 1024 * 1024).describe(
    'Most bytes (compact JSON, UTF-8) of the messages a thread keeps, trimmed like THREAD_MAX_MESSAGES; the newest turn is always kept.',
  ),

  SKREAVER_AGENT_PLUGINS: envList().describe(
    'Comma-separated plugin modules (paths relative to the working directory, or package names) exporting `defineAgent()` kinds, loaded at boot; set it on agent-api and every coordinator.',
  ),

  SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS: envBoolean(false).describe(
    'Let tools and agents reach every address the outbound network policy refuses (private, loopback, link-local…): trusted single-host setups only.',
  ),
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
  ).describe(
    'Comma-separated CIDRs, addresses or host names reachable despite being private (`10.1.0.0/16,db.internal`).',
  ),
  SKREAVER_TOOLS_HTTP_ALLOW_DOMAINS: envList().describe(
    'When set, outbound HTTP may only reach these comma-separated domains (subdomains included).',
  ),
  SKREAVER_TOOLS_HTTP_DENY_DOMAINS: envList().describe(
    'Comma-separated domains (subdomains included) outbound HTTP may never reach.',
  ),
  SKREAVER_TOOLS_HTTP_TIMEOUT_MS: envInt(30_000, 100, 600_000).describe(
    'Longest an outbound HTTP request (redirects included) may take.',
  ),
  SKREAVER_TOOLS_HTTP_MAX_RESPONSE_BYTES: envInt(1024 * 1024, 1_024, 64 * 1024 * 1024).describe(
    'Largest outbound HTTP response body, bytes.',
  ),

  SKREAVER_LLM_BASE_URL: z.url({ protocol: /^https?$/ }).optional().describe(
    'Default OpenAI-compatible API root of `llm` agents, e.g. `https://api.openai.com/v1` (trusted: no network policy).',
  ),
  SKREAVER_LLM_API_KEY: z.string().min(1).optional().describe(
    'Default API key of `llm` agents; only ever sent to `SKREAVER_LLM_BASE_URL`.',
  ),
  SKREAVER_LLM_MODEL: z.string().min(1).max(200).optional().describe('Default model of `llm` agents.'),
};

/** The run queue's retention of finished jobs, from the `RUN_JOBS_*` variables of `runLifecycleEnv`. */
export function runJobRetention(config: Config<typeof runLifecycleEnv>): FinishedJobRetention {
  return {
    completed: { count: config.RUN_JOBS_COMPLETED_KEEP, ageSeconds: config.RUN_JOBS_COMPLETED_MAX_AGE_SECONDS },
    failed: { count: config.RUN_JOBS_FAILED_KEEP, ageSeconds: config.RUN_JOBS_FAILED_MAX_AGE_SECONDS },
  };
}

/** The parsed run-execution settings (a subset of the service's config). */
export type RunExecutionConfig = Config<typeof runExecutionEnv>;
