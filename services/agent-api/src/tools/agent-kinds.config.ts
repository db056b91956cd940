import { AgentRegistry, builtInAgents, loadAgentPlugins, parsePluginList } from '@skreaver/agent-runtime';
import { defineConfig } from '@skreaver/config';
import type { Environment } from '@skreaver/config';
import { z } from 'zod';

/**
 * The agent kinds agent-api knows. Like the main config it is parsed from the environment once, at boot (when the
 * agents module builds its registry): agent-api loads the same plugins as the coordinators so that it can check a
 * plugin agent's config when the agent is created, and answer 400 for a kind no plugin defines.
 */
export const AgentKindsConfig = defineConfig({
  /** Comma-separated modules (paths or package names) exporting `defineAgent()` kinds; the coordinators' list. */
  SKREAVER_AGENT_PLUGINS: z.string().default('').transform(parsePluginList),
});

/**
 * The built-in kinds and the plugins of SKREAVER_AGENT_PLUGINS.
 * @throws AgentPluginError naming a plugin that cannot be loaded (the service does not start).
 */
export function loadAgentRegistry(env?: Environment): AgentRegistry {
  const config = AgentKindsConfig.load(env);
  return new AgentRegistry([...builtInAgents(), ...loadAgentPlugins(config.SKREAVER_AGENT_PLUGINS)]);
}
