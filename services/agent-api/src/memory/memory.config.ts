import { defineConfig, envInt } from '@skreaver/config';
import type { Config } from '@skreaver/config';

/**
 * agent-api's limits on agent memory. Like the main config it is parsed from the process environment once, at
 * boot: `MemoryModule.forRoot()` loads it while the app module is built, so a bad value stops the service with a
 * message naming the variable. Changing a limit takes a restart.
 */
export const MemoryConfig = defineConfig({
  /** Largest value, in UTF-8 bytes of its JSON; a larger write answers 413 `memory_value_too_large`. */
  SKREAVER_MEMORY_MAX_VALUE_BYTES: envInt(65_536, 1, 16 * 1024 * 1024),
  /** Most live keys one agent may hold; writing one more new key answers 409 `memory_full`. */
  SKREAVER_MEMORY_MAX_KEYS: envInt(10_000, 1, 10_000_000),
});
export type MemoryConfig = Config<typeof MemoryConfig.shape>;

/** Injection token of the parsed memory config. */
export const MEMORY_CONFIG = Symbol('MEMORY_CONFIG');
