import type { JsonValue } from '@skreaver/contracts';
import { z } from 'zod';

import { defineAgent } from '../agent-definition';
import type { AgentEmission } from '../agent-definition';
import { AgentFailure } from '../agent-errors';
import { HttpError } from '../network/guarded-http.client';
import type { HttpClient } from '../network/guarded-http.client';
import { ChatStreamAssembler, ChatStreamError, ChatUsage, SseDataParser } from './chat-stream';
import { priorMessages } from '../thread/thread-messages';

/** Model settings from the coordinator's environment (`SKREAVER_LLM_*`), used when the agent config has none. */
export interface LlmDefaults {
  baseUrl?: string;
  apiKey?: string;
  model?: string;
}

/** What the `llm` kind is built with. */
export interface LlmAgentOptions {
  defaults?: LlmDefaults;
  /**
   * Client for the operator's `SKREAVER_LLM_BASE_URL` (a local model server may well be private). A `base_url` from
   * an agent's config always goes through the agent's network policy instead.
   */
  trustedHttp?: HttpClient;
}

const ToolCall = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string().default('{}') }),
});
type ToolCall = z.infer<typeof ToolCall>;

const ChatCompletion = z.object({
  usage: ChatUsage.nullish().catch(null),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable().optional(), tool_calls: z.array(ToolCall).nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
});

type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

const MAX_REPLY_BYTES = 8 * 1024 * 1024;

const LlmConfig = z.strictObject({
  /** OpenAI-compatible API root, e.g. `https://api.openai.com/v1`; default SKREAVER_LLM_BASE_URL. */
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  /** Default SKREAVER_LLM_MODEL. */
  model: z.string().min(1).max(200).optional(),
  /** Sent only to this config's base_url; the environment's key only ever goes to the environment's URL. */
  api_key: z.string().min(1).max(4_096).optional(),
  system: z.string().max(100_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).optional(),
  request_timeout_ms: z.number().int().min(100).max(600_000).default(60_000),
  /**
   * Ask for a streamed reply (`stream: true`) and log its text as `message.delta` events; false for an endpoint
   * that cannot stream. An endpoint that answers plain JSON anyway is understood either way.
   */
  stream: z.boolean().default(true),
});
type LlmConfig = z.infer<typeof LlmConfig>;

/**
 * A chat model behind an OpenAI-compatible `/chat/completions` endpoint, with tool calling: each model call is a
 * step; tool calls the model asks for run through the agent's tools and their results go back to it; the loop ends
 * with the model's answer (the output, as text) or fails with `max_steps_exceeded`.
 */
export function llmAgent(options: LlmAgentOptions = {}) {
  const defaults = options.defaults ?? {};
  return defineAgent({
    kind: 'llm',
    description: 'A chat model (OpenAI-compatible /chat/completions) that may call tools; loops until it answers or reaches max_steps.',
    configSchema: LlmConfig,
    async run(input, context) {
      const endpoint = settings(context.config, defaults, (event) => context.emit(event));
      const http = context.config.base_url === undefined && options.trustedHttp ? options.trustedHttp : context.http;
      const tools = context.tools.describe().map((tool) => ({
        type: 'function' as const,
        function: { name: tool.name, description: tool.description, parameters: withoutMeta(tool.input_schema) },
      }));
      const messages: ChatMessage[] = [
        ...(context.config.system ? [{ role: 'system' as const, content: context.config.system }] : []),
        ...priorMessages(context.thread),
        { role: 'user', content: typeof input === 'string' ? input : JSON.stringify(input) },
      ];
      const turnStart = messages.length - 1;
      for (;;) {
        // Throws max_steps_exceeded once the model has had all its turns without answering.
        await context.emit({ type: 'step', name: 'llm', detail: { model: endpoint.model, messages: messages.length } });
        const body: Record<string, unknown> = { model: endpoint.model, messages };
        if (tools.length > 0) body['tools'] = tools;
        if (context.config.temperature !== undefined) body['temperature'] = context.config.temperature;
        if (context.config.max_tokens !== undefined) body['max_tokens'] = context.config.max_tokens;
        // Journaled (as JSON): a replayed run gets the reply the model gave before instead of asking it again.
        const ask = () => complete(http, endpoint, body, context.config.request_timeout_ms, context.signal) as Promise<JsonValue>;
        const message = (await context.step('llm', ask, { kind: 'model' })) as Awaited<ReturnType<typeof complete>>;
        const calls = message.tool_calls ?? [];
        if (calls.length === 0) {
          context.thread?.append(...messages.slice(turnStart), { role: 'assistant', content: message.content ?? '' });
          return message.content ?? '';
        }
        messages.push({ role: 'assistant', content: message.content ?? null, tool_calls: calls.map((call) => ({ ...call, type: 'function' as const })) });
        if (message.content) await context.emit({ type: 'output', output: message.content });
        for (const call of calls) {
          const args = parseArguments(call.function.arguments);
          const result =
            args === undefined
              ? { ok: false as const, error: { code: 'invalid_arguments', message: 'the arguments are not JSON', retryable: false } }
              : await context.tools.call(call.function.name, args);
          const content = result.ok ? result.result : { error: { code: result.error.code, message: result.error.message } };
          messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(content) });
        }
      }
    },
  });
}

interface Endpoint {
  url: string;
  model: string;
  apiKey: string | undefined;
  /** Ask for server-sent events. */
  stream: boolean;
  /** The agent's `context.emit`: the reply's text as deltas, the call's duration and tokens. */
  emit: (event: AgentEmission) => Promise<void>;
}

function settings(config: LlmConfig, defaults: LlmDefaults, emit: Endpoint['emit']): Endpoint {
  const baseUrl = config.base_url ?? defaults.baseUrl;
  const model = config.model ?? defaults.model;
  if (!baseUrl) throw new AgentFailure('invalid_agent_config', 'no base_url in the agent config and SKREAVER_LLM_BASE_URL is not set', true);
  if (!model) throw new AgentFailure('invalid_agent_config', 'no model in the agent config and SKREAVER_LLM_MODEL is not set', true);
  const apiKey = config.base_url === undefined ? (config.api_key ?? defaults.apiKey) : config.api_key;
  return { url: `${baseUrl.replace(/\/+$/, '')}/chat/completions`, model, apiKey, stream: config.stream, emit };
}

/**
 * One model call. Streamed (`stream: true`, usage included) unless the config says not to: the text is emitted as
 * deltas while it arrives, content and tool calls are assembled, and the whole reply is returned as if it had come
 * in one piece; an endpoint answering plain JSON is read as before. The request's timeout and size limit cover the
 * whole stream. The call's duration and tokens are reported (`model_call`), whether it succeeded or not.
 */
async function complete(
  http: HttpClient,
  endpoint: Endpoint,
  body: Record<string, unknown>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ content?: string | null; tool_calls?: ToolCall[] | null }> {
  const started = performance.now();
  const stream = new StreamedReply(endpoint.emit, signal);
  const report = (ok: boolean, usage?: ChatUsage | null) =>
    endpoint.emit({ type: 'model_call', duration_ms: performance.now() - started, ok, ...(usage ? { usage } : {}) });
  try {
    const { usage, ...message } = await request(http, endpoint, endpoint.stream ? { ...body, stream: true, stream_options: { include_usage: true } } : body, timeoutMs, stream);
    await report(true, usage);
    return message;
  } catch (error) {
    await report(false).catch(() => undefined);
    throw error;
  }
}

async function request(
  http: HttpClient,
  endpoint: Endpoint,
  body: Record<string, unknown>,
  timeoutMs: number,
  stream: StreamedReply,
): Promise<{ content?: string | null; tool_calls?: ToolCall[] | null; usage?: ChatUsage | null }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: endpoint.stream ? 'text/event-stream, application/json' : 'application/json' };
  if (endpoint.apiKey) headers['authorization'] = `Bearer ${endpoint.apiKey}`;
  let response;
  try {
    response = await http.request(
      {
        url: endpoint.url,
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        timeoutMs,
        maxResponseBytes: MAX_REPLY_BYTES,
        followRedirects: false,
        ...(endpoint.stream ? { onChunk: (chunk: Buffer, head: { status: number; headers: Record<string, string> }) => stream.chunk(chunk, head) } : {}),
      },
      stream.signal,
    );
  } catch (error) {
    if (stream.failure !== undefined) throw stream.failed();
    if (error instanceof HttpError && error.code !== 'aborted') {
      throw new AgentFailure(error.retryable ? 'llm_unavailable' : 'llm_error', `model endpoint: ${error.message}`, !error.retryable);
    }
    throw error;
  }
  const text = response.body.toString('utf8');
  if (response.status === 429 || response.status >= 500) {
    throw new AgentFailure('llm_unavailable', `model endpoint answered ${response.status}: ${text.slice(0, 300)}`, false);
  }
  if (response.status < 200 || response.status >= 300) {
    throw new AgentFailure('llm_error', `model endpoint answered ${response.status}: ${text.slice(0, 300)}`, true);
  }
  if (isEventStream(response.headers)) return stream.finish(response.body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AgentFailure('llm_invalid_response', `model endpoint answered with something that is not JSON: ${text.slice(0, 200)}`, false);
  }
  const completion = ChatCompletion.safeParse(parsed);
  if (!completion.success) throw new AgentFailure('llm_invalid_response', `unexpected chat completion: ${completion.error.message.slice(0, 300)}`, false);
  const choice = completion.data.choices[0];
  if (!choice) throw new AgentFailure('llm_invalid_response', 'the chat completion has no choices', false);
  // An endpoint that cannot stream answers in one piece: its text is not emitted as deltas (the answer follows).
  return { ...choice.message, usage: completion.data.usage };
}

function isEventStream(headers: Record<string, string>): boolean {
  return (headers['content-type'] ?? '').toLowerCase().startsWith('text/event-stream');
}

/**
 * A streamed reply being read: events parsed as their bytes arrive, text emitted as deltas in order. A broken
 * stream (or a delta that cannot be logged) aborts the request and is what the call fails with.
 */
class StreamedReply {
  private readonly parser = new SseDataParser();
  private readonly assembler = new ChatStreamAssembler();
  private readonly abort = new AbortController();
  private deltas: Promise<void> = Promise.resolve();
  private consumed = 0;
  failure: unknown;
  readonly signal: AbortSignal;

  constructor(
    private readonly emit: Endpoint['emit'],
    signal: AbortSignal,
  ) {
    this.signal = AbortSignal.any([signal, this.abort.signal]);
  }

  chunk(chunk: Buffer, head: { status: number; headers: Record<string, string> }): void {
    if (this.failure !== undefined || head.status < 200 || head.status >= 300 || !isEventStream(head.headers)) return;
    this.consumed += chunk.length;
    this.consume(this.parser.push(chunk));
  }

  /** The whole body is in: reads what was not seen as chunks, and returns the assembled reply. */
  async finish(body: Buffer): Promise<{ content: string | null; tool_calls: ToolCall[]; usage?: ChatUsage }> {
    if (this.failure === undefined && body.length > this.consumed) this.consume(this.parser.push(body.subarray(this.consumed)));
    if (this.failure === undefined) this.consume(this.parser.end());
    await this.deltas.catch(() => undefined);
    if (this.failure !== undefined) throw this.failed();
    if (!this.assembler.complete) throw new AgentFailure('llm_unavailable', 'the model endpoint ended its stream before the reply was complete', false);
    try {
      return this.assembler.reply();
    } catch (error) {
      this.failure = error;
      throw this.failed();
    }
  }

  /** What the call fails with, after the stream broke. */
  failed(): unknown {
    const failure = this.failure;
    if (failure instanceof ChatStreamError) {
      return failure.reported ? new AgentFailure('llm_unavailable', failure.message, false) : new AgentFailure('llm_invalid_response', failure.message, false);
    }
    return failure;
  }

  private consume(events: string[]): void {
    try {
      for (const data of events) {
        const text = this.assembler.apply(data);
        if (text !== '') this.deltas = this.deltas.then(() => this.emit({ type: 'delta', text }));
      }
    } catch (error) {
      this.fail(error);
    }
    this.deltas.catch((error: unknown) => this.fail(error));
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.abort.abort();
  }
}

function parseArguments(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text === '' ? '{}' : text) as JsonValue;
  } catch {
    return undefined;
  }
}

function withoutMeta(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}
