import { REDACTED, redactSecrets } from '@skreaver/agent-runtime';
import type { Agent } from '@skreaver/contracts';

export { REDACTED };

/**
 * The agent as the API shows it, under the same policy as run events (`redactSecrets`): secret-named config values,
 * header values but harmless ones and credentials in URLs replaced by `[redacted]`, at any depth.
 */
export function redactAgent(agent: Agent): Agent {
  return { ...agent, config: redactSecrets(agent.config) as Agent['config'] };
}
