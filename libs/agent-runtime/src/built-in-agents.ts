import type { AgentDefinition } from './agent-definition';
import { echoAgent } from './kinds/echo.agent';
import { llmAgent } from './kinds/llm.agent';
import type { LlmAgentOptions } from './kinds/llm.agent';
import { toolAgent } from './kinds/tool.agent';
import { webhookAgent } from './kinds/webhook.agent';

/** Settings of the built-in kinds that come from the environment. */
export interface BuiltInAgentOptions {
  llm?: LlmAgentOptions;
}

/** The kinds Skreaver ships: `echo`, `tool`, `llm` and `webhook`. */
export function builtInAgents(options: BuiltInAgentOptions = {}): AgentDefinition<unknown>[] {
  return [echoAgent, toolAgent, llmAgent(options.llm), webhookAgent] as AgentDefinition<unknown>[];
}
