import { baseEnv, databaseEnv, defineConfig, envInt, envPort } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { runExecutionEnv, runLifecycleEnv } from '@skreaver/runs';
import { z } from 'zod';

/** mesh-coordinator's environment. */
export const MeshCoordinatorConfig = defineConfig({
  ...baseEnv,
  ...databaseEnv,
  ...runLifecycleEnv,
  PORT: envPort(8082).describe('HTTP port.'),
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters, the secret agent-api signs tokens with').optional().describe(
    'The key agent-api signs tokens with; only needed to check admin tokens on the profiling routes (`SKREAVER_ENABLE_PROFILING=true`).',
  ),
  RUN_LOCK_DURATION_MS: envInt(10_000, 1_000, 3_600_000).describe(
    'A run\'s job lock, renewed every half of it while its worker lives: a killed or cut-off worker\'s run moves to another coordinator within `RUN_LOCK_DURATION_MS` + 2 × `RUN_STALLED_CHECK_MS`.',
  ),
  RUN_STALLED_CHECK_MS: envInt(1_000, 100, 600_000).describe(
    'How often each coordinator looks for runs whose lock expired (their worker died) and hands them on.',
  ),
  RUN_RECONCILE_INTERVAL_MS: envInt(15_000, 100, 3_600_000).describe(
    'How often one coordinator (in turn) repairs runs whose job is gone and admission slots held by ended runs.',
  ),
  RUN_RECONCILE_GRACE_MS: envInt(30_000, 0, 86_400_000).describe(
    'Runs younger than this are left out of that repair (their creator may still be enqueueing them).',
  ),
  ...runExecutionEnv,

  SKREAVER_MESH_CLAIM_IDLE_MS: envInt(30_000, 100, 3_600_000).describe(
    'Mesh entries pending this long (a dead coordinator\'s, a failed delivery\'s) are reclaimed by another coordinator.',
  ),
  SKREAVER_MESH_MAX_DELIVERIES: envInt(5, 1, 100).describe(
    'Deliveries of one mesh entry before it goes to the dead-letter stream.',
  ),
  SKREAVER_MESH_HEARTBEAT_MS: envInt(5_000, 100, 60_000).describe(
    'Period of this coordinator\'s presence heartbeat (with its load); it is listed for three periods after its last beat.',
  ),
});
export type MeshCoordinatorConfig = Config<typeof MeshCoordinatorConfig.shape>;

export const MESH_COORDINATOR_CONFIG = Symbol('MESH_COORDINATOR_CONFIG');
