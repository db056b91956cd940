import type { RunEventV1 } from '@skreaver/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';

// Proxies and load balancers close idle connections (nginx: 60 s); a comment line keeps the stream alive.
const KEEP_ALIVE_MS = 15_000;

/** An open `text/event-stream` response. */
export interface SseStream {
  send(event: RunEventV1): void;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  end(): void;
}

/** Whether the client asked for server-sent events. */
export function wantsEventStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/event-stream');
}

/** The seq after which to resume: `Last-Event-ID` (the browser's reconnect) wins over `?after=`. */
export function resumeSeq(request: FastifyRequest, runId: string, after: string | undefined): number {
  const header = request.headers['last-event-id'];
  const id = typeof header === 'string' && header ? header : after;
  if (!id) return 0;
  const [run, seq] = id.split(':');
  return run === runId && /^\d+$/.test(seq ?? '') ? Number(seq) : 0;
}

/**
 * Takes over the reply from Fastify and streams events; every event carries its id, so clients can resume.
 * `headers` are added to the response (headers set on `reply` before are not sent: the reply is hijacked).
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply, headers: Record<string, string> = {}): SseStream {
  const closed = new AbortController();
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
    ...headers,
  });
  reply.raw.write(': stream open\n\n');
  const keepAlive = setInterval(() => reply.raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  keepAlive.unref();
  request.raw.on('close', () => {
    clearInterval(keepAlive);
    closed.abort();
  });
  return {
    signal: closed.signal,
    send(event) {
      reply.raw.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    },
    end() {
      clearInterval(keepAlive);
      reply.raw.end();
    },
  };
}

/** What feeds a stream: calls `send` with each event until the run ends or `signal` aborts (`RunsService.follow`). */
export type EventSource = (send: (event: RunEventV1) => void, signal: AbortSignal) => Promise<void>;

/** Answers with the events `source` sends, as server-sent events, and ends the response when it returns. */
export async function streamEvents(request: FastifyRequest, reply: FastifyReply, source: EventSource, headers?: Record<string, string>): Promise<void> {
  const stream = openEventStream(request, reply, headers);
  try {
    await source((event) => stream.send(event), stream.signal);
  } finally {
    stream.end();
  }
}
