import { defineConfig } from '@skreaver/config';
import type { Config } from '@skreaver/config';
import { agentMemoryEnv } from '@skreaver/runs';

/**
 * agent-api's limits on agent memory. Like the main config it is parsed from the process environment once, at
 * boot: `MemoryModule.forRoot()` loads it while the app module is built, so a bad value stops the service with a
 * message naming the variable. Changing a limit takes a restart.
 */
export const MemoryConfig = defineConfig(agentMemoryEnv);
export type MemoryConfig = Config<typeof MemoryConfig.shape>;

/** Injection token of the parsed memory config. */
export const MEMORY_CONFIG = Symbol('MEMORY_CONFIG');
