import { AgentLimitError } from './agent-errors';
import type { RunLimits } from './agent-limits';

const utf8 = new TextEncoder();

/** UTF-8 size of a value's compact JSON. */
export function jsonBytes(value: unknown): number {
  return utf8.encode(JSON.stringify(value) ?? 'null').length;
}

/**
 * Counts one attempt's steps, tool calls and output against its limits. A breach is remembered: the run fails with
 * it even if the agent catches the error and carries on.
 */
export class RunBudget {
  private steps = 0;
  private toolCalls = 0;
  private partialBytes = 0;
  private breached: AgentLimitError | undefined;

  constructor(readonly limits: RunLimits) {}

  /** The first limit exceeded, if any. */
  get breach(): AgentLimitError | undefined {
    return this.breached;
  }

  /** Takes a step; returns its 1-based number. @throws AgentLimitError past `max_steps`. */
  step(): number {
    this.steps += 1;
    if (this.steps > this.limits.maxSteps) this.fail(new AgentLimitError('max_steps_exceeded', `the agent took more than ${this.limits.maxSteps} steps (max_steps)`));
    return this.steps;
  }

  /** Takes a tool call; returns its 1-based number. @throws AgentLimitError past `max_tool_calls`. */
  toolCall(): number {
    this.toolCalls += 1;
    if (this.toolCalls > this.limits.maxToolCalls) {
      this.fail(new AgentLimitError('max_tool_calls_exceeded', `the agent made more than ${this.limits.maxToolCalls} tool calls (max_tool_calls)`));
    }
    return this.toolCalls;
  }

  /** Counts a partial output. @throws AgentLimitError when partial outputs together exceed `max_output_bytes`. */
  partialOutput(value: unknown): void {
    this.partialBytes += jsonBytes(value);
    if (this.partialBytes > this.limits.maxOutputBytes) {
      this.fail(new AgentLimitError('output_too_large', `partial outputs exceed ${this.limits.maxOutputBytes} bytes (max_output_bytes)`));
    }
  }

  /** Checks the result. @throws AgentLimitError when it exceeds `max_output_bytes`. */
  finalOutput(value: unknown): void {
    const size = jsonBytes(value);
    if (size > this.limits.maxOutputBytes) {
      this.fail(new AgentLimitError('output_too_large', `the output is ${size} bytes, more than ${this.limits.maxOutputBytes} (max_output_bytes)`));
    }
  }

  private fail(error: AgentLimitError): never {
    this.breached ??= error;
    throw error;
  }
}
