import { hostname } from 'node:os';

import { baseEnv, databaseEnv, defineConfig, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { z } from 'zod';

/** mesh-coordinator's environment. */
export const MeshCoordinatorConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  PORT: envPort(8082),
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
});
export type MeshCoordinatorConfig = Config<typeof MeshCoordinatorConfig.shape>;

export const MESH_COORDINATOR_CONFIG = Symbol('MESH_COORDINATOR_CONFIG');
