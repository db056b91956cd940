import { JsonValue } from '@skreaver/contracts';
import { untilAborted } from '@skreaver/util';

import { ActivityStream } from './activity-stream';
import type { AgentContext } from './agent-definition';
import { AgentFailure, AgentLimitError } from './agent-errors';
import { DEFAULT_RUN_LIMITS, effectiveLimits } from './agent-limits';
import type { RunLimits } from './agent-limits';
import type { AgentRegistry } from './agent-registry';
import { journaledStep } from './journal/journaled-step';
import type { RunJournal } from './journal/run-journal';
import { RunReplay } from './journal/run-replay';
import { agentMemory, unavailableMemoryStore } from './memory-store';
import type { MemoryStore } from './memory-store';
import { GuardedHttpClient } from './network/guarded-http.client';
import type { GuardedHttpClientOptions } from './network/guarded-http.client';
import { NetworkPolicy } from './network/network-policy';
import { HumanInput } from './input/human-input';
import { RunBudget } from './run-budget';
import { builtInTools } from './tools/built-in-tools';
import type { AgentThread } from './thread/agent-thread';
import { RunToolbox } from './tools/run-toolbox';
import type { ActivitySink, ToolObserver } from './tools/run-toolbox';
import { ToolRegistry } from './tools/tool-registry';
import type { MeshClient } from './tools/mesh-client';
import { usageRecorder } from './usage';
import type { ModelCallObserver, RunUsage } from './usage';

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
  /** Index of the attempt's first `message.delta` (the number earlier attempts logged); default 0. */
  firstDeltaIndex?: number;
  /** Told the tokens of each model call the agent reports (`model_call`), to sum on the run. */
  onUsage?: (usage: RunUsage) => void;
  /** Answers people gave to the run's inputs so far, by input id (`input_1`…): a resumed run replays with them. */
  inputs?: Record<string, JsonValue>;
  /** The run's journal: steps earlier attempts recorded are replayed, new ones recorded; default: none (no replay). */
  journal?: RunJournal;
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
  /** Told each model call agents report (metrics). */
  onModelCall?: ModelCallObserver;
  /** The agent mesh for `mesh_send` / `mesh_request`; without it they fail with `mesh_unavailable`. */
  mesh?: MeshClient;
  /** How long a request for input waits when it sets no timeout; default `DEFAULT_INPUT_TIMEOUT_SECONDS`. */
  inputTimeoutSeconds?: number;
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
   * @throws InputRequired when the run must wait for a person (whatever the agent did with that signal).
   * @throws the abort reason when `request.signal` aborts; otherwise whatever the agent threw.
   */
  async run(request: RunRequest): Promise<JsonValue> {
    const { definition, config, shared } = this.options.registry.resolve(request.kind, request.config);
    const replay = await RunReplay.open(request.journal);
    const limits = effectiveLimits(this.limits, shared.limits);
    const budget = new RunBudget(limits);
    // One controller per attempt, aborted by the caller's signal or by the deadline: a second controller and
    // AbortSignal.any per run showed in the coordinator's profile (Node's EventTarget signals are costly to make).
    const attempt = new AbortController();
    let timedOut: AgentLimitError | undefined;
    const timer = setTimeout(() => {
      timedOut = new AgentLimitError('run_timeout', `the run took longer than ${limits.timeoutMs} ms (timeout_ms)`);
      attempt.abort(timedOut);
    }, limits.timeoutMs);
    const callerAborted = () => attempt.abort(request.signal.reason);
    if (request.signal.aborted) callerAborted();
    else request.signal.addEventListener('abort', callerAborted, { once: true });
    const signal = attempt.signal;
    let open = true;
    const sink = request.onActivity ?? (async () => undefined);
    const stream = new ActivityStream(
      async (activity) => {
        if (open) await sink(activity);
      },
      request.attempt,
      request.firstDeltaIndex,
    );
    const emit: ActivitySink = (activity) => stream.send(activity);
    const recordUsage = usageRecorder(request.kind, request.onUsage, this.options.onModelCall);
    let lastStep: number | undefined;
    const http = new GuardedHttpClient(this.network.narrow(shared.http), this.http);
    const memory = agentMemory(this.memory, request.tenantId, request.agentId);
    const input = new HumanInput(request.inputs ?? {}, this.options.inputTimeoutSeconds);
    const tools = new RunToolbox({
      registry: this.tools,
      allowed: shared.tools,
      context: { tenantId: request.tenantId, agentId: request.agentId, runId: request.runId, signal, memory, http, mesh: this.options.mesh, input },
      ...(shared.approval ? { approval: { config: shared.approval, input } } : {}),
      budget,
      attempt: request.attempt,
      emit,
      observe: this.options.onToolExecuted,
      isOpen: () => open,
      replay,
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
      waitForInput: (inputRequest) => input.wait(inputRequest),
      thread: request.thread,
      async emit(event) {
        if (!open) return;
        if (event.type === 'step') {
          const step = budget.step();
          lastStep = step;
          const name = event.name.slice(0, 200) || 'step';
          const replayed = replay.replaying ? { replayed: true as const } : {};
          await emit({ type: 'run.step', data: { attempt: request.attempt, step, name, ...(event.detail === undefined ? {} : { detail: event.detail }), ...replayed } });
        } else if (event.type === 'delta') {
          await stream.delta(typeof event.text === 'string' ? event.text : '', lastStep);
        } else if (event.type === 'model_call') {
          recordUsage(event);
        } else {
          budget.partialOutput(event.output);
          await emit({ type: 'run.output', data: { attempt: request.attempt, index: outputs++, output: event.output } });
        }
      },
      step: (name, fn, options) => journaledStep(replay, () => open, name, fn, options),
    };
    try {
      const output = toJson(await untilAborted(definition.run(request.input, context), signal));
      await stream.flush();
      if (budget.breach) throw budget.breach;
      if (replay.breach) throw replay.breach;
      // The agent swallowed its suspension and went on: the run still waits for the person.
      if (input.suspended) throw input.suspended;
      budget.finalOutput(output);
      return output;
    } catch (error) {
      // The text the agent streamed before it failed is logged (it was said); after a cancellation nothing is.
      if (!signal.aborted) await stream.flush().catch(() => undefined);
      if (timedOut && !request.signal.aborted) throw timedOut;
      // A limit the agent hit wins over however it reacted (it may have caught the error and failed otherwise).
      if (budget.breach && !request.signal.aborted) throw budget.breach;
      // So does straying from the run's journal.
      if (replay.breach && !request.signal.aborted) throw replay.breach;
      if (input.suspended && !request.signal.aborted) throw input.suspended;
      throw error;
    } finally {
      stream.stop();
      open = false;
      clearTimeout(timer);
      request.signal.removeEventListener('abort', callerAborted);
    }
  }
}

/** The agent's result as JSON: `undefined` is `null`; anything JSON cannot carry fails the attempt for good. */
function toJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  const parsed = JsonValue.safeParse(value);
  if (!parsed.success) throw new AgentFailure('invalid_output', 'the agent returned a value that is not JSON', true);
  return parsed.data;
}
