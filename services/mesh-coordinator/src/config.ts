import { baseEnv, databaseEnv, defineConfig, envBoolean, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { runExecutionEnv } from '@skreaver/runs';
import { z } from 'zod';

/** mesh-coordinator's environment. */
export const MeshCoordinatorConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  PORT: envPort(8082),
  /** Only to check admin tokens on the profiling routes (SKREAVER_ENABLE_PROFILING=true). */
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters, the secret agent-api signs tokens with').optional(),
  /** Attempts each run gets (used when this coordinator enqueues a run that waited for its agent). */
  RUN_MAX_ATTEMPTS: envInt(3, 1, 100),
  /**
   * A run's job lock, renewed every half of it while its worker lives: a worker that stops renewing it (killed, cut
   * off) loses the run to another within RUN_LOCK_DURATION_MS + 2 × RUN_STALLED_CHECK_MS.
   */
  RUN_LOCK_DURATION_MS: envInt(10_000, 1_000, 3_600_000),
  /** How often each coordinator looks for runs whose lock expired (their worker died) and hands them on. */
  RUN_STALLED_CHECK_MS: envInt(1_000, 100, 600_000),
  /** How often one coordinator looks for accepted runs whose job is gone and for slots held by ended runs. */
  RUN_RECONCILE_INTERVAL_MS: envInt(15_000, 100, 3_600_000),
  /** Runs younger than this are left out of reconciliation (their creator may still be enqueueing them). */
  RUN_RECONCILE_GRACE_MS: envInt(30_000, 0, 86_400_000),
  ...runExecutionEnv,

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
});
export type MeshCoordinatorConfig = Config<typeof MeshCoordinatorConfig.shape>;

export const MESH_COORDINATOR_CONFIG = Symbol('MESH_COORDINATOR_CONFIG');
