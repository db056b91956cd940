import { z } from 'zod';

/**
 * Splits a server-sent event stream into the `data` of each event, as bytes arrive: lines end with LF, CRLF or CR
 * (a CRLF split between two chunks is one line end), `data:` lines of one event are joined with LF, comments
 * (`:`) and other fields (`event`, `id`, `retry`) are ignored, and UTF-8 split between chunks is decoded whole.
 */
export class SseDataParser {
  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';
  private data: string[] = [];

  /** Feeds bytes; returns the data of each event they complete. */
  push(chunk: Uint8Array): string[] {
    return this.lines(this.decoder.decode(chunk, { stream: true }), false);
  }

  /** The stream ended: returns the data of an event left without its blank line (a lenient end). */
  end(): string[] {
    const events = this.lines(this.decoder.decode(), true);
    if (this.data.length > 0) events.push(this.data.join('\n'));
    this.data = [];
    return events;
  }

  private lines(text: string, final: boolean): string[] {
    const events: string[] = [];
    let buffer = this.pending + text;
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      if (end === -1) break;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (buffer[end] === '\r' && end === buffer.length - 1 && !final) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1);
      this.line(line, events);
    }
    this.pending = buffer;
    if (final && buffer !== '') {
      this.line(buffer, events);
      this.pending = '';
    }
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    const value = colon === -1 ? '' : line.slice(colon + 1);
    this.data.push(value.startsWith(' ') ? value.slice(1) : value);
  }
}

/** Tokens a model call used, as OpenAI-compatible endpoints report them. */
export const ChatUsage = z.object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() });
export type ChatUsage = z.infer<typeof ChatUsage>;

/** A tool call the model made. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The model's reply, whole. */
export interface ChatReply {
  content: string | null;
  tool_calls: ChatToolCall[];
  usage?: ChatUsage;
}

const ChunkToolCall = z.object({
  index: z.number().int().nonnegative(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const ChatChunk = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().nonnegative().optional(),
        delta: z.object({ content: z.string().nullish(), tool_calls: z.array(ChunkToolCall).nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: ChatUsage.nullish().catch(null),
  error: z.object({ message: z.string().optional() }).passthrough().nullish(),
});

/** A stream that cannot be a chat completion's (not JSON, wrong shape, an error event). */
export class ChatStreamError extends Error {
  constructor(
    message: string,
    /** The endpoint itself reported an error mid-stream (worth another try), rather than sending garbage. */
    readonly reported = false,
  ) {
    super(message);
    this.name = 'ChatStreamError';
  }
}

/**
 * Assembles a streamed chat completion (`stream: true`) from its events' data: content deltas in order, tool calls
 * by their `index` (id and name from the first delta that has them, arguments concatenated), the usage chunk, and
 * the `[DONE]` marker. Only the first choice is read.
 */
export class ChatStreamAssembler {
  private content = '';
  private readonly calls = new Map<number, { id?: string; name?: string; arguments: string }>();
  private usage: ChatUsage | undefined;
  private finished = false;
  private done = false;

  /**
   * Applies one event's data.
   * @returns the text it adds to the reply ('' when none).
   * @throws ChatStreamError when it is not a chat completion chunk, or reports an error.
   */
  apply(data: string): string {
    if (data.trim() === '[DONE]') {
      this.done = true;
      return '';
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw new ChatStreamError(`a stream event is not JSON: ${data.slice(0, 200)}`);
    }
    const chunk = ChatChunk.safeParse(json);
    if (!chunk.success) throw new ChatStreamError(`unexpected chat completion chunk: ${chunk.error.message.slice(0, 300)}`);
    if (chunk.data.error) throw new ChatStreamError(`the model endpoint reported an error mid-stream: ${chunk.data.error.message ?? 'unknown'}`, true);
    if (chunk.data.usage) this.usage = chunk.data.usage;
    const choice = chunk.data.choices?.find((candidate) => (candidate.index ?? 0) === 0);
    if (!choice) return '';
    if (choice.finish_reason) this.finished = true;
    for (const delta of choice.delta?.tool_calls ?? []) {
      const call = this.calls.get(delta.index) ?? { arguments: '' };
      if (delta.id && call.id === undefined) call.id = delta.id;
      if (delta.function?.name && call.name === undefined) call.name = delta.function.name;
      if (delta.function?.arguments) call.arguments += delta.function.arguments;
      this.calls.set(delta.index, call);
    }
    const text = choice.delta?.content ?? '';
    this.content += text;
    return text;
  }

  /** Whether the stream said it was complete (`[DONE]` or a `finish_reason`). */
  get complete(): boolean {
    return this.done || this.finished;
  }

  /**
   * The whole reply.
   * @throws ChatStreamError when a tool call never got a name.
   */
  reply(): ChatReply {
    const tool_calls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]): ChatToolCall => {
        if (!call.name) throw new ChatStreamError(`the streamed tool call ${index} has no function name`);
        return { id: call.id ?? `call_${index}`, type: 'function', function: { name: call.name, arguments: call.arguments } };
      });
    return { content: this.content === '' ? null : this.content, tool_calls, ...(this.usage ? { usage: this.usage } : {}) };
  }
}
