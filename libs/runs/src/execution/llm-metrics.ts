import { Injectable } from '@nestjs/common';
import type { ModelCall } from '@skreaver/agent-runtime';
import { counter, histogram } from '@skreaver/observability';

/** Model calls (the `llm` kind's, and any plugin's that reports them) as operators graph them. */
@Injectable()
export class LlmMetrics {
  readonly tokens = counter({
    name: 'skreaver_llm_tokens_total',
    help: 'Tokens the model endpoints reported, by agent kind and type (prompt, completion)',
    labelNames: ['agent_kind', 'type'],
  });

  readonly duration = histogram({
    name: 'skreaver_llm_request_duration_seconds',
    help: 'Duration of one model call, from request to the end of its (streamed) reply, by agent kind and outcome (ok, error)',
    labelNames: ['agent_kind', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  });

  /** Records one model call (the `ModelCallObserver` the agent runner calls). */
  observe(call: ModelCall): void {
    this.duration.observe({ agent_kind: call.agentKind, outcome: call.ok ? 'ok' : 'error' }, call.seconds);
    if (!call.usage) return;
    this.tokens.inc({ agent_kind: call.agentKind, type: 'prompt' }, call.usage.prompt_tokens);
    this.tokens.inc({ agent_kind: call.agentKind, type: 'completion' }, call.usage.completion_tokens);
  }
}
