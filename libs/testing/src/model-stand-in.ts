import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';

/** A chat message as the stand-in received it (OpenAI shape, loosely typed: the test decides what it expects). */
export interface StandInMessage {
  role: string;
  content?: string | null;
  tool_calls?: Array<{ id: string; type?: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  [key: string]: unknown;
}

/** One `POST /v1/chat/completions` the stand-in received. */
export interface StandInRequest {
  /** 1-based, in arrival order. */
  n: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: Record<string, unknown>;
  messages: StandInMessage[];
  model: string | undefined;
  /** The request asked for server-sent events (`stream: true`). */
  stream: boolean;
  /** `stream_options.include_usage`. */
  includeUsage: boolean;
}

/** A tool call the scripted model makes; `arguments` as a JSON string or a value to serialize. */
export interface StandInToolCall {
  id?: string;
  name: string;
  arguments?: string | Record<string, unknown>;
}

/** What the scripted model answers. */
export type StandInReply =
  | {
      content?: string | null;
      tool_calls?: StandInToolCall[];
      /** Default: counted from the words of the request's messages and the reply's chunks. */
      usage?: { prompt_tokens: number; completion_tokens: number };
      finish_reason?: string;
      /** Answer plain JSON even if the request asked for a stream (an endpoint that cannot stream). */
      plainJson?: boolean;
      /** Overrides the stand-in's delay between stream chunks (ms). */
      chunkDelayMs?: number;
      /** Streams only this many chunks, then destroys the connection (a model server dying mid-answer). */
      dropAfterChunks?: number;
    }
  | { status: number; body?: unknown };

export type StandInScript = (request: StandInRequest) => StandInReply | Promise<StandInReply>;

export interface ModelStandInOptions {
  /** Default: answers `echo: <last user message>`. */
  script?: StandInScript;
  /** Pause between server-sent event chunks. Default 0. */
  chunkDelayMs?: number;
  /** Characters of content per chunk. Default 8. */
  chunkChars?: number;
  /** Host to listen on. Default 127.0.0.1 (a free port is chosen). */
  host?: string;
}

/** A local OpenAI-compatible chat model: a real HTTP server scripted by the test. */
export interface ModelStandIn {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `<url>/v1`: what an `llm` agent's `base_url` / `SKREAVER_LLM_BASE_URL` is set to. */
  readonly baseUrl: string;
  readonly port: number;
  /** Every chat completion request, in arrival order (clear it with `requests.length = 0`). */
  readonly requests: StandInRequest[];
  /** Replaces the script. */
  script(script: StandInScript): void;
  /** Changes the delay between stream chunks. */
  setChunkDelay(ms: number): void;
  close(): Promise<void>;
}

/** The last user message's text (what most scripts answer to). */
export function lastUserMessage(request: StandInRequest): string {
  const message = [...request.messages].reverse().find((candidate) => candidate.role === 'user');
  return typeof message?.content === 'string' ? message.content : '';
}

/** Rough token count: whitespace-separated words (deterministic, good enough to assert sums). */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}

/**
 * Starts the stand-in on a free port. `POST /v1/chat/completions` answers plain JSON, or — when the request says
 * `stream: true` — OpenAI-style server-sent events: a `role` chunk, content deltas of `chunkChars` characters,
 * tool-call deltas (id and name first, then the arguments in pieces, by index), a chunk with the `finish_reason`, a
 * `usage` chunk with empty `choices` when `stream_options.include_usage`, then `data: [DONE]`.
 */
export async function startModelStandIn(options: ModelStandInOptions = {}): Promise<ModelStandIn> {
  let script: StandInScript = options.script ?? ((request) => ({ content: `echo: ${lastUserMessage(request)}` }));
  let chunkDelayMs = options.chunkDelayMs ?? 0;
  const chunkChars = options.chunkChars ?? 8;
  const requests: StandInRequest[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'POST' || path !== '/v1/chat/completions') return sendJson(res, 404, { error: { message: 'not found' } });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, { error: { message: 'the body is not JSON' } });
      }
      const streamOptions = body['stream_options'] as { include_usage?: boolean } | undefined;
      const request: StandInRequest = {
        n: requests.length + 1,
        headers: req.headers,
        body,
        messages: Array.isArray(body['messages']) ? (body['messages'] as StandInMessage[]) : [],
        model: typeof body['model'] === 'string' ? body['model'] : undefined,
        stream: body['stream'] === true,
        includeUsage: streamOptions?.include_usage === true,
      };
      requests.push(request);
      Promise.resolve()
        .then(() => script(request))
        .then((reply) => answer(res, request, reply, { chunkDelayMs, chunkChars }))
        .catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: { message: String(error) } });
          else res.destroy();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    requests,
    script: (next) => {
      script = next;
    },
    setChunkDelay: (ms) => {
      chunkDelayMs = ms;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(
  res: ServerResponse,
  request: StandInRequest,
  reply: StandInReply,
  settings: { chunkDelayMs: number; chunkChars: number },
): Promise<void> {
  if ('status' in reply) return sendJson(res, reply.status, reply.body ?? { error: { message: `scripted ${reply.status}` } });
  const content = reply.content ?? null;
  const toolCalls = (reply.tool_calls ?? []).map((call, index) => ({
    id: call.id ?? `call_${request.n}_${index}`,
    type: 'function' as const,
    function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}) },
  }));
  const finishReason = reply.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
  const contentPieces = split(content ?? '', settings.chunkChars);
  const usage = reply.usage ?? {
    prompt_tokens: request.messages.reduce((sum, message) => sum + countWords(typeof message.content === 'string' ? message.content : ''), 0),
    completion_tokens: contentPieces.length + toolCalls.length,
  };
  const fullUsage = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
  const id = `chatcmpl-${request.n}`;
  const created = Math.floor(Date.now() / 1000);
  const model = request.model ?? 'stand-in';

  if (!request.stream || reply.plainJson) {
    const message: Record<string, unknown> = { role: 'assistant', content };
    if (toolCalls.length > 0) message['tool_calls'] = toolCalls;
    return sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finishReason }], usage: fullUsage });
  }

  const deltas: Array<Record<string, unknown>> = [{ role: 'assistant', content: '' }];
  for (const piece of contentPieces) deltas.push({ content: piece });
  toolCalls.forEach((call, index) => {
    deltas.push({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] });
    for (const piece of split(call.function.arguments, settings.chunkChars)) deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
  });
  const events: unknown[] = deltas.map((delta) => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: null }] }));
  events.push({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, finish_reason: finishReason }] });
  if (request.includeUsage) events.push({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: fullUsage });

  const delay = reply.chunkDelayMs ?? settings.chunkDelayMs;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let sent = 0;
  for (const event of events) {
    if (reply.dropAfterChunks !== undefined && sent >= reply.dropAfterChunks) {
      res.destroy();
      return;
    }
    if (sent > 0 && delay > 0) await sleep(delay);
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(event)}\n\n`);
    sent += 1;
  }
  res.end('data: [DONE]\n\n');
}

function split(text: string, size: number): string[] {
  const pieces: string[] = [];
  const characters = Array.from(text);
  for (let start = 0; start < characters.length; start += size) pieces.push(characters.slice(start, start + size).join(''));
  return pieces;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
