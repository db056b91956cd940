import { AgentRegistry, AgentRunner, GuardedHttpClient, NetworkPolicy, builtInAgents, loadAgentPlugins } from '@skreaver/agent-runtime';
import type { GuardedHttpClientOptions, MemoryStore, MeshClient } from '@skreaver/agent-runtime';

import type { RunExecutionConfig } from './run-execution.config';
import type { LlmMetrics } from './llm-metrics';
import type { ToolMetrics } from './tool-metrics';

function httpLimits(config: RunExecutionConfig): GuardedHttpClientOptions {
  return { maxTimeoutMs: config.SKREAVER_TOOLS_HTTP_TIMEOUT_MS, maxResponseBytes: config.SKREAVER_TOOLS_HTTP_MAX_RESPONSE_BYTES };
}

/**
 * The built-in kinds plus the plugins of SKREAVER_AGENT_PLUGINS (loaded now, at boot: a plugin that cannot load
 * stops the process with a message naming it).
 */
export function createAgentRegistry(config: RunExecutionConfig): AgentRegistry {
  // The operator's own model endpoint is trusted (it may well be a private address); agents' URLs are not.
  const trustedHttp = new GuardedHttpClient(NetworkPolicy.create({ allowPrivateNetworks: true }), httpLimits(config));
  const llm = { baseUrl: config.SKREAVER_LLM_BASE_URL, apiKey: config.SKREAVER_LLM_API_KEY, model: config.SKREAVER_LLM_MODEL };
  return new AgentRegistry([...builtInAgents({ llm: { defaults: llm, trustedHttp } }), ...loadAgentPlugins(config.SKREAVER_AGENT_PLUGINS)]);
}

/** Runs agents under the configured default limits and network policy, with agent memory, tool and model metrics. */
export function createAgentRunner(
  config: RunExecutionConfig,
  registry: AgentRegistry,
  memory: MemoryStore,
  metrics: ToolMetrics,
  mesh?: MeshClient,
  llmMetrics?: LlmMetrics,
): AgentRunner {
  return new AgentRunner({
    registry,
    memory,
    limits: {
      timeoutMs: config.RUN_TIMEOUT_MS,
      maxSteps: config.RUN_MAX_STEPS,
      maxToolCalls: config.RUN_MAX_TOOL_CALLS,
      maxOutputBytes: config.RUN_MAX_OUTPUT_BYTES,
    },
    network: NetworkPolicy.create({
      allowPrivateNetworks: config.SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS,
      allowedNetworks: config.SKREAVER_TOOLS_ALLOWED_NETWORKS,
      allowDomains: config.SKREAVER_TOOLS_HTTP_ALLOW_DOMAINS,
      denyDomains: config.SKREAVER_TOOLS_HTTP_DENY_DOMAINS,
    }),
    http: httpLimits(config),
    onToolExecuted: (tool, ok, seconds) => metrics.observe(tool, ok, seconds),
    onModelCall: llmMetrics && ((call) => llmMetrics.observe(call)),
    mesh,
    inputTimeoutSeconds: config.RUN_INPUT_TIMEOUT_SECONDS,
  });
}
