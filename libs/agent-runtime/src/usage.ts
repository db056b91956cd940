import type { ModelCallEmission } from './agent-definition';

/** Tokens a run's model calls used. */
export interface RunUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A model call as metrics see it. */
export interface ModelCall {
  /** Kind of the agent that made it (`llm`, or a plugin's). */
  agentKind: string;
  seconds: number;
  ok: boolean;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

/** Told each model call agents report. */
export type ModelCallObserver = (call: ModelCall) => void;

/** `a + b`, either maybe missing. */
export function addUsage(a: RunUsage | null | undefined, b: RunUsage | null | undefined): RunUsage | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
}

/** Turns an agent's `model_call` emissions into the run's usage and the process's metrics. */
export function usageRecorder(agentKind: string, onUsage?: (usage: RunUsage) => void, observer?: ModelCallObserver): (call: ModelCallEmission) => void {
  return (call) => {
    const usage = call.usage && {
      prompt_tokens: wholeTokens(call.usage.prompt_tokens),
      completion_tokens: wholeTokens(call.usage.completion_tokens),
    };
    if (usage) onUsage?.({ ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens });
    observer?.({ agentKind, seconds: Math.max(0, call.duration_ms) / 1000, ok: call.ok, ...(usage ? { usage } : {}) });
  };
}

function wholeTokens(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
