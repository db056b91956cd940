import { InputSchema } from '@skreaver/contracts';
import type { ApprovalAnswer, JsonValue } from '@skreaver/contracts';
import { z } from 'zod';

import { AgentFailure } from '../agent-errors';

/** What `context.waitForInput` asks a person for. */
export interface InputRequest {
  /** What the person is asked (shown to them). */
  prompt: string;
  /** A JSON Schema the answer must satisfy (`POST /runs/{id}/resume` answers 422 otherwise). */
  schema?: Record<string, JsonValue>;
  /** How long the run waits; default the runner's (RUN_INPUT_TIMEOUT_SECONDS), at most `MAX_INPUT_TIMEOUT_SECONDS`. */
  timeout_seconds?: number;
  /** The answer when the wait expires; without one the run fails with `input_timeout`. */
  default?: JsonValue;
}

/** A request for input as the run's suspension carries it; the executor turns `timeout_seconds` into `expires_at`. */
export interface RequestedInput {
  id: string;
  kind: 'input' | 'approval';
  prompt: string;
  schema?: Record<string, JsonValue>;
  tool?: string;
  tool_input?: JsonValue;
  timeout_seconds: number;
  default?: JsonValue;
}

/** Longest wait one input may ask for: 30 days. */
export const MAX_INPUT_TIMEOUT_SECONDS = 30 * 24 * 3600;
/** Wait of an input that sets none, unless the runner is given another (RUN_INPUT_TIMEOUT_SECONDS). */
export const DEFAULT_INPUT_TIMEOUT_SECONDS = 24 * 3600;

const MAX_PROMPT = 4_000;

/**
 * Thrown to suspend a run until a person answers `inputs` (never an error of the agent's): the executor puts the run
 * in `waiting_input`, gives its worker slot back and spends no attempt. An agent must let it through (catching it
 * changes nothing: the runner rethrows it once the agent returns).
 */
export class InputRequired extends Error {
  constructor(readonly inputs: RequestedInput[]) {
    super(`the run waits for input (${inputs.map((input) => input.id).join(', ')})`);
    this.name = 'InputRequired';
  }
}

/** Whether `error` suspends its run; duck-typed too, since a plugin may carry its own copy of this library. */
export function isInputRequired(error: unknown): error is InputRequired {
  if (error instanceof InputRequired) return true;
  return error instanceof Error && error.name === 'InputRequired' && Array.isArray((error as { inputs?: unknown }).inputs);
}

/**
 * Why `schema` cannot check answers (not an object, or JSON Schema that zod's `z.fromJSONSchema` cannot compile),
 * or null when it can.
 */
export function inputSchemaProblem(schema: unknown): string | null {
  const parsed = InputSchema.safeParse(schema);
  if (!parsed.success) return 'the schema must be a JSON Schema object';
  try {
    z.fromJSONSchema(parsed.data as Parameters<typeof z.fromJSONSchema>[0]);
    return null;
  } catch (error) {
    return `the schema is not usable JSON Schema: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * A run's requests for input, numbered in the order the run makes them (`input_1`, `input_2`…): a replay after a
 * resume makes the same requests in the same order, so the n-th finds its answer by id in `answers` and goes on; the
 * first without an answer suspends the run (`InputRequired`). Shared by `context.waitForInput`, the `request_input`
 * tool and tool approvals.
 */
export class HumanInput {
  private count = 0;
  /** The suspension this run raised, if any: the runner rethrows it whatever the agent did with it. */
  suspended: InputRequired | undefined;

  constructor(
    private readonly answers: Readonly<Record<string, JsonValue>>,
    private readonly defaultTimeoutSeconds = DEFAULT_INPUT_TIMEOUT_SECONDS,
  ) {}

  /**
   * The answer to `request` once a person gave it; until then throws `InputRequired`.
   * @throws AgentFailure `invalid_input_request` (permanent) for an empty prompt, a bad schema or timeout.
   */
  async wait(request: InputRequest): Promise<JsonValue> {
    const prompt = typeof request.prompt === 'string' ? request.prompt.trim() : '';
    if (!prompt || prompt.length > MAX_PROMPT) throw invalid(`the prompt must be 1 to ${MAX_PROMPT} characters`);
    const problem = request.schema === undefined ? null : inputSchemaProblem(request.schema);
    if (problem) throw invalid(problem);
    const timeout = request.timeout_seconds ?? this.defaultTimeoutSeconds;
    if (!Number.isFinite(timeout) || timeout <= 0 || timeout > MAX_INPUT_TIMEOUT_SECONDS) {
      throw invalid(`timeout_seconds must be more than 0 and at most ${MAX_INPUT_TIMEOUT_SECONDS}`);
    }
    const id = this.next();
    if (Object.hasOwn(this.answers, id)) return this.answers[id] as JsonValue;
    throw this.suspend({
      id,
      kind: 'input',
      prompt,
      ...(request.schema === undefined ? {} : { schema: request.schema }),
      timeout_seconds: timeout,
      ...(request.default === undefined ? {} : { default: request.default }),
    });
  }

  /** A person's decision on calling `tool` with `toolInput` (as the log shows it); throws `InputRequired` until given. */
  approval(tool: string, toolInput: JsonValue, timeoutSeconds?: number): ApprovalAnswer {
    const id = this.next();
    if (Object.hasOwn(this.answers, id)) {
      const answer = this.answers[id];
      const approved = typeof answer === 'object' && answer !== null && !Array.isArray(answer) && answer['approved'] === true;
      const reason = typeof answer === 'object' && answer !== null && !Array.isArray(answer) ? answer['reason'] : undefined;
      return { approved, ...(typeof reason === 'string' ? { reason } : {}) };
    }
    throw this.suspend({
      id,
      kind: 'approval',
      prompt: `Allow the tool ${tool} to run with this input?`,
      tool,
      tool_input: toolInput,
      timeout_seconds: timeoutSeconds ?? this.defaultTimeoutSeconds,
    });
  }

  private next(): string {
    this.count += 1;
    return `input_${this.count}`;
  }

  private suspend(input: RequestedInput): InputRequired {
    // One suspension per run: the first unanswered request wins, later ones (an agent that caught it) join it.
    if (this.suspended) this.suspended.inputs.push(input);
    else this.suspended = new InputRequired([input]);
    return this.suspended;
  }
}

function invalid(message: string): AgentFailure {
  return new AgentFailure('invalid_input_request', `waitForInput: ${message}`, true);
}
