import { JsonValue } from '@skreaver/contracts';

import type { AgentContext } from './agent-definition';
import { AgentFailure, AgentLimitError } from './agent-errors';
import { DEFAULT_RUN_LIMITS, effectiveLimits } from './agent-limits';
import type { RunLimits } from './agent-limits';
import type { AgentRegistry } from './agent-registry';
import { agentMemory, unavailableMemoryStore } from './memory-store';
import type { MemoryStore } from './memory-store';
import { GuardedHttpClient } from './network/guarded-http.client';
import type { GuardedHttpClientOptions } from './network/guarded-http.client';
import { NetworkPolicy } from './network/network-policy';
import { RunBudget } from './run-budget';
import { builtInTools } from './tools/built-in-tools';
import type { AgentThread } from './thread/agent-thread';
import { RunToolbox } from './tools/run-toolbox';
import type { ActivitySink, ToolObserver } from './tools/run-toolbox';
import { ToolRegistry } from './tools/tool-registry';
import type { MeshClient } from './tools/mesh-client';

/** One attempt of a run to execute. */
export interface RunRequest {
  agentId: string;
  runId: string;
  tenantId: string;
  attempt: number;
  kind: string;
  config: unknown;
  input: JsonValue;
  /** Aborted to cancel the run. */
  signal: AbortSignal;
  /** Receives the attempt's steps, tool calls and partial outputs in order (the coordinator appends them to the log). */
  onActivity?: ActivitySink;
  /** The run's thread (a thread run), as `context.thread`. */
  thread?: AgentThread;
}

/** What an `AgentRunner` runs agents with. */
export interface AgentRunnerOptions {
  registry: AgentRegistry;
  /** Default: the built-in tools. */
  tools?: ToolRegistry;
  /** Default: none (memory tools fail with `memory_unavailable`). */
  memory?: MemoryStore;
  /** Limits of agents that set none; default `DEFAULT_RUN_LIMITS`. */
  limits?: RunLimits;
  /** The operator's network policy; default: public internet only. */
  network?: NetworkPolicy;
  /** Outbound HTTP limits (and, in tests, transport). */
  http?: GuardedHttpClientOptions;
  onToolExecuted?: ToolObserver;
  /** The agent mesh for `mesh_send` / `mesh_request`; without it they fail with `mesh_unavailable`. */
  mesh?: MeshClient;
}

const DEFAULT_HTTP: GuardedHttpClientOptions = { maxTimeoutMs: 30_000, maxResponseBytes: 1024 * 1024 };

/**
 * Runs agents: resolves the kind and config, builds the context (tools, memory, network, `emit`), and holds the run
 * to its limits. A cancellation or timeout ends the attempt at once even if the agent ignores its signal; whatever
 * the agent does after that (emit, call tools) is dropped, so nothing follows the run's last event.
 */
export class AgentRunner {
  private readonly tools: ToolRegistry;
  private readonly memory: MemoryStore;
  private readonly limits: RunLimits;
  private readonly network: NetworkPolicy;
  private readonly http: GuardedHttpClientOptions;

  constructor(private readonly options: AgentRunnerOptions) {
    this.tools = options.tools ?? new ToolRegistry(builtInTools());
    this.memory = options.memory ?? unavailableMemoryStore;
    this.limits = options.limits ?? DEFAULT_RUN_LIMITS;
    this.network = options.network ?? NetworkPolicy.create();
    this.http = options.http ?? DEFAULT_HTTP;
  }

  /**
   * Runs one attempt and resolves with its output.
   * @throws AgentConfigError when the kind is not installed or the config is invalid (permanent).
   * @throws AgentLimitError when the attempt exceeds a limit (permanent).
   * @throws the abort reason when `request.signal` aborts; otherwise whatever the agent threw.
   */
  async run(request: RunRequest): Promise<JsonValue> {
    const { definition, config, shared } = this.options.registry.resolve(request.kind, request.config);
    const limits = effectiveLimits(this.limits, shared.limits);
    const budget = new RunBudget(limits);
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new AgentLimitError('run_timeout', `the run took longer than ${limits.timeoutMs} ms (timeout_ms)`)),
      limits.timeoutMs,
    );
    const signal = AbortSignal.any([request.signal, deadline.signal]);
    let open = true;
    const sink = request.onActivity ?? (async () => undefined);
    const emit: ActivitySink = async (activity) => {
      if (open) await sink(activity);
    };
    const http = new GuardedHttpClient(this.network.narrow(shared.http), this.http);
    const memory = agentMemory(this.memory, request.tenantId, request.agentId);
    const tools = new RunToolbox({
      registry: this.tools,
      allowed: shared.tools,
      context: { tenantId: request.tenantId, agentId: request.agentId, runId: request.runId, signal, memory, http, mesh: this.options.mesh },
      budget,
      attempt: request.attempt,
      emit,
      observe: this.options.onToolExecuted,
      isOpen: () => open,
    });
    let outputs = 0;
    const context: AgentContext<unknown> = {
      agentId: request.agentId,
      runId: request.runId,
      tenantId: request.tenantId,
      attempt: request.attempt,
      config,
      signal,
      limits,
      tools,
      memory,
      http,
      thread: request.thread,
      async emit(event) {
        if (!open) return;
        if (event.type === 'step') {
          const step = budget.step();
          const name = event.name.slice(0, 200) || 'step';
          await emit({ type: 'run.step', data: { attempt: request.attempt, step, name, ...(event.detail === undefined ? {} : { detail: event.detail }) } });
        } else {
          budget.partialOutput(event.output);
          await emit({ type: 'run.output', data: { attempt: request.attempt, index: outputs++, output: event.output } });
        }
      },
    };
    try {
      const output = toJson(await untilAborted(definition.run(request.input, context), signal));
      if (budget.breach) throw budget.breach;
      budget.finalOutput(output);
      return output;
    } catch (error) {
      if (deadline.signal.aborted && !request.signal.aborted) throw deadline.signal.reason;
      // A limit the agent hit wins over however it reacted (it may have caught the error and failed otherwise).
      if (budget.breach && !request.signal.aborted) throw budget.breach;
      throw error;
    } finally {
      open = false;
      clearTimeout(timer);
    }
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts (the agent may never notice). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The agent's result as JSON: `undefined` is `null`; anything JSON cannot carry fails the attempt for good. */
function toJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  const parsed = JsonValue.safeParse(value);
  if (!parsed.success) throw new AgentFailure('invalid_output', 'the agent returned a value that is not JSON', true);
  return parsed.data;
}
