import type { JsonValue, RunActivity, ToolDescriptor } from '@skreaver/contracts';

import { AgentLimitError } from '../agent-errors';
import type { HumanInput } from '../input/human-input';
import { isInputRequired } from '../input/human-input';
import { OPT_IN_TOOLS } from '../input/tool-approval';
import type { ToolApprovalConfig } from '../input/tool-approval';
import type { RunReplay } from '../journal/run-replay';
import { journalToolCall, replayedToolResult } from '../journal/journaled-tool-call';
import { HttpError } from '../network/guarded-http.client';
import { redactSecrets } from '../redaction';
import type { RunBudget } from '../run-budget';
import { ToolError } from './tool-definition';
import type { ToolContext, ToolDefinition, ToolResult } from './tool-definition';
import type { ToolRegistry } from './tool-registry';

/** The tools an agent may call during one run. */
export interface AgentTools {
  /** Names of the tools this agent may call. */
  names(): string[];
  /** Descriptors of those tools (for a model's tool list). */
  describe(): ToolDescriptor[];
  /**
   * Calls a tool. Never throws for a tool's own failure (the result says `ok: false`); throws only when the run must
   * stop: `AgentLimitError` past `max_tool_calls`, `nondeterministic_replay` when the run's journal holds another step
   * here, or the journal's error when the result could not be stored; `InputRequired` while a person has to answer
   * (`request_input`) or approve the call (the agent config's `approval`). A call journaled by an earlier attempt of
   * the run returns its recorded result without executing.
   */
  call(name: string, input: unknown): Promise<ToolResult>;
}

/** Appends an activity event to the run's log. */
export type ActivitySink = (activity: RunActivity) => Promise<void>;

/** Told about every tool execution (for metrics). */
export type ToolObserver = (tool: string, ok: boolean, seconds: number) => void;

/** What a `RunToolbox` runs tool calls with. */
export interface RunToolboxOptions {
  registry: ToolRegistry;
  /** Tools the agent may call; all installed ones when undefined. */
  allowed: readonly string[] | undefined;
  context: ToolContext;
  budget: RunBudget;
  attempt: number;
  emit: ActivitySink;
  observe?: ToolObserver;
  /** False once the run has ended: late calls from an agent that ignored the abort do nothing. */
  isOpen: () => boolean;
  /** Tools a person must approve before each call (the agent config's `approval`), decided through `input`. */
  approval?: { config: ToolApprovalConfig; input: HumanInput };
  /** The run's journal: calls an earlier attempt recorded are replayed, not executed; default: nothing journaled. */
  replay?: RunReplay;
}

// Bounded so a tool result's error stays readable in an event and a model's context.
const MAX_ERROR_MESSAGE = 1_000;

/**
 * Runs one attempt's tool calls: counts each against `max_tool_calls`, validates the input with the tool's schema,
 * logs `tool.call` and `tool.result` (with `duration_ms`), both masked by `redactSecrets`, and turns every tool
 * failure into a failed result.
 */
export class RunToolbox implements AgentTools {
  private calls = 0;

  constructor(private readonly options: RunToolboxOptions) {}

  names(): string[] {
    const installed = this.options.registry.names();
    const allowed = this.options.allowed;
    return allowed === undefined ? installed.filter((name) => !OPT_IN_TOOLS.includes(name)) : installed.filter((name) => allowed.includes(name));
  }

  describe(): ToolDescriptor[] {
    return this.options.registry.describe(this.names());
  }

  async call(name: string, input: unknown): Promise<ToolResult> {
    const { budget, emit, attempt } = this.options;
    if (!this.options.isOpen()) return failed('run_closed', 'the run has ended; the tool was not called');
    const tool = this.options.registry.get(name);
    const parsed = tool?.inputSchema.safeParse(input);
    // The config policy applies to every input, parsed or not: a model or a tool agent's step may put credentials anywhere.
    const logged = redactSecrets(tool?.redact && parsed?.success ? tool.redact(parsed.data) : jsonOrNull(input));
    // Asked before the call is counted, claimed or logged: a run that waits for the decision has no dangling tool.call.
    const denied = parsed?.success ? this.approvalDenied(name, logged) : undefined;
    budget.toolCall();
    this.calls += 1;
    const callId = `call_${attempt}_${this.calls}`;
    const shownName = name.slice(0, 64) || '?';
    // Before any await, so calls the agent starts together take their journal places in the order it made them. A
    // refused call is not journaled: the recorded decision refuses it again on every replay.
    const claim = denied ? undefined : this.options.replay?.claim('tool', name);
    const replayed = claim?.recorded ? { replayed: true as const } : {};
    await emit({ type: 'tool.call', data: { attempt, call_id: callId, tool: shownName, input: logged, ...replayed } });
    const started = performance.now();
    let result: ToolResult;
    if (denied) {
      result = denied;
    } else if (claim?.recorded) {
      result = replayedToolResult(claim.recorded);
    } else {
      const idempotencyKey = claim ? `${this.options.context.runId}:${claim.ordinal}` : undefined;
      result = await this.execute(name, tool, parsed, { ...this.options.context, idempotencyKey });
      // Only installed tools get a metric series: a name a model made up must not become a label.
      if (tool) this.options.observe?.(name, result.ok, (performance.now() - started) / 1000);
      // Journaled before the agent (or the log) sees it: a later attempt replays this answer.
      if (claim && this.options.replay) result = await journalToolCall(this.options.replay, claim, result, this.options.context.signal);
    }
    const seconds = (performance.now() - started) / 1000;
    const base = { attempt, call_id: callId, tool: shownName, duration_ms: Math.round(seconds * 100_000) / 100, ...replayed };
    // The agent gets the result as it is (a later step may need a cookie it set); the log, which viewers read, gets
    // it under the same policy as the input: response headers such as Set-Cookie are write-only there too.
    await emit({
      type: 'tool.result',
      data: result.ok
        ? { ...base, ok: true, result: redactSecrets(result.result) }
        : { ...base, ok: false, error: { code: result.error.code, message: result.error.message } },
    });
    return result;
  }

  /**
   * For a tool the agent's config says needs approval: undefined once a person approved this call, a failed result
   * (`approval_denied`) once they refused it; until they decide, throws `InputRequired` (the run waits).
   */
  private approvalDenied(name: string, loggedInput: JsonValue): ToolResult | undefined {
    const approval = this.options.approval;
    if (!approval?.config.tools.includes(name) || !this.names().includes(name)) return undefined;
    const decision = approval.input.approval(name, loggedInput, approval.config.timeout_seconds);
    if (decision.approved) return undefined;
    return failed('approval_denied', `a person refused this ${name} call${decision.reason ? `: ${decision.reason}` : ''}`);
  }

  private async execute(
    name: string,
    tool: ToolDefinition<unknown> | undefined,
    parsed: ReturnType<ToolDefinition<unknown>['inputSchema']['safeParse']> | undefined,
    context: ToolContext,
  ): Promise<ToolResult> {
    if (!tool || !parsed) return failed('unknown_tool', `no tool named "${name.slice(0, 64)}" is installed`);
    if (!this.names().includes(name)) return failed('tool_not_allowed', `this agent may not call ${name} (agent config "tools")`);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
      return failed('invalid_input', `invalid ${name} input: ${issues}`);
    }
    const { signal } = context;
    if (signal.aborted) return failed('aborted', 'the run was aborted');
    try {
      return { ok: true, result: await tool.run(parsed.data, context) };
    } catch (error) {
      if (error instanceof AgentLimitError) throw error;
      // `request_input` suspends the run: not a tool failure.
      if (isInputRequired(error)) throw error;
      if (error instanceof ToolError) return failed(error.code, error.message, error.retryable);
      if (error instanceof HttpError) return failed(error.code, error.message, error.retryable);
      if (signal.aborted) return failed('aborted', 'the run was aborted');
      return failed('tool_error', error instanceof Error ? error.message : String(error), true);
    }
  }
}

function failed(code: string, message: string, retryable = false): ToolResult {
  return { ok: false, error: { code, message: message.slice(0, MAX_ERROR_MESSAGE), retryable } };
}

function jsonOrNull(value: unknown): JsonValue {
  try {
    return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JsonValue);
  } catch {
    return null;
  }
}
