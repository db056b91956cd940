/** Raised when an agent's stored config no longer satisfies its kind's schema, or its kind is not installed. */
export class AgentConfigError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

/**
 * A failure an agent reports with a stable `code` (the run's error code). `permanent` failures end the run at once;
 * others let the queue retry the run (another attempt may succeed: a 503, a timeout upstream).
 */
export class AgentFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'AgentFailure';
  }
}

/** Codes of the per-agent limits. */
export type LimitCode = 'run_timeout' | 'max_steps_exceeded' | 'max_tool_calls_exceeded' | 'output_too_large';

/** The run went past one of its agent's limits; always permanent (the same run would hit it again). */
export class AgentLimitError extends AgentFailure {
  constructor(
    readonly limit: LimitCode,
    message: string,
  ) {
    super(limit, message, true);
    this.name = 'AgentLimitError';
  }
}

/**
 * The code and permanence of a failure thrown by an agent. Duck-typed as well as `instanceof`: a plugin may carry its
 * own copy of this library, whose classes are not ours.
 */
export function failureOf(error: unknown): { code: string; permanent: boolean } | null {
  if (error instanceof AgentFailure) return { code: error.code, permanent: error.permanent };
  if (error instanceof AgentConfigError) return { code: 'invalid_agent_config', permanent: true };
  if (typeof error === 'object' && error !== null && 'code' in error && 'permanent' in error) {
    const { code, permanent } = error;
    if (typeof code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(code) && typeof permanent === 'boolean') return { code, permanent };
  }
  return null;
}
