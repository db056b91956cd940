import type { RunEventV1 } from '@skreaver/contracts';

import { SkreaverError, isAbort } from './errors';
import { SseParser } from './sse';
import { backoffMs, path } from './transport';
import type { Call, CallOptions, Transport, WebSocketConstructor, WebSocketLike } from './transport';

/** Options of a live stream (`runs.stream`, `agents.watch`). */
export interface StreamOptions extends CallOptions {
  /** The last event id already seen: the stream starts right after it (none twice, none missing). */
  after?: string;
  /** Reconnections in a row without receiving an event before the stream gives up (`stream_ended`); 5 by default. */
  maxReconnects?: number;
  /**
   * Told when the connection changes: `connecting` (opening), `live` (answer received / subscription acknowledged:
   * new events will arrive), `reconnecting` (dropped; resuming after the last event). For a UI's status line.
   */
  onState?: (state: StreamState) => void;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting';

/** Whether `event` ends its run's log (a non-final `run.failed` does not: a retry follows). Mirrors contracts' `isTerminalEvent`. */
export function isTerminalEvent(event: RunEventV1): boolean {
  return event.type === 'run.completed' || event.type === 'run.cancelled' || (event.type === 'run.failed' && event.data.final);
}

/** The seq of an event id (`<run_id>:<seq>`); 0 when it is not one. */
function seqOf(eventId: string | undefined): number {
  const seq = Number(eventId?.slice(eventId.lastIndexOf(':') + 1));
  return Number.isSafeInteger(seq) ? seq : 0;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * A run's events, live, as an async iterator over server-sent events (`GET /runs/{id}/events`). A dropped
 * connection is resumed with `Last-Event-ID`: every event is yielded once, in order; the iteration ends after the
 * run's terminal event. `break` (or the signal) closes the connection.
 */
export class RunEventStream implements AsyncIterable<RunEventV1> {
  /** The run's id: given, or (for `runs.create(…, { stream: true })`) from `X-Run-Id` once the answer arrived. */
  runId: string | undefined;
  /** The id of the last event yielded: pass it as `after` to continue elsewhere. */
  lastEventId: string | undefined;
  /** How many times the connection was re-opened. */
  reconnects = 0;

  constructor(
    private readonly transport: Transport,
    runId: string | undefined,
    private readonly options: StreamOptions = {},
    /** The first request, when it is not `GET /runs/{id}/events` (a POST that starts the run and streams it). */
    private readonly opening?: Call,
  ) {
    this.runId = runId;
    this.lastEventId = options.after;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunEventV1> {
    const { signal } = this.options;
    const maxReconnects = this.options.maxReconnects ?? 5;
    let opening = this.opening;
    let lastSeq = seqOf(this.lastEventId);
    let failures = 0;
    let lastError: unknown;
    for (;;) {
      let response: Response | undefined;
      const call: Call = opening ?? {
        method: 'GET',
        path: path`/runs/${this.runId as string}/events`,
        headers: { accept: 'text/event-stream', ...(this.lastEventId ? { 'last-event-id': this.lastEventId } : {}) },
        signal,
        idempotent: true,
      };
      this.options.onState?.(failures === 0 && this.reconnects === 0 ? 'connecting' : 'reconnecting');
      try {
        response = await this.transport.send({ ...call, signal, idempotent: call.idempotent ?? false });
        this.options.onState?.('live');
        // A POST is opened once; after it, the run has an id and the log is resumed by GET.
        opening = undefined;
      } catch (error) {
        if (isAbort(error, signal)) throw signal?.reason ?? error;
        const retryable = error instanceof SkreaverError && (error.status === 0 || error.status === 503) && (!opening || opening.idempotent);
        if (!retryable) throw error;
        lastError = error;
      }
      if (response) {
        this.runId ??= response.headers.get('x-run-id') ?? undefined;
        const reader = response.body?.getReader();
        if (!reader) throw new SkreaverError({ status: response.status, code: 'invalid_response', message: 'the event stream has no body' });
        const decoder = new TextDecoder();
        const parser = new SseParser();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            for (const message of parser.push(decoder.decode(value, { stream: true }))) {
              if (!message.data) continue;
              const event = JSON.parse(message.data) as RunEventV1;
              if (event.seq <= lastSeq) continue;
              lastSeq = event.seq;
              this.lastEventId = message.id ?? event.id;
              failures = 0;
              yield event;
              if (isTerminalEvent(event)) return;
              // Aborted while the caller handled the event: stop here, not after the rest of the chunk.
              if (signal?.aborted) throw signal.reason;
            }
          }
        } catch (error) {
          if (isAbort(error, signal)) throw signal?.reason ?? error;
          if (error instanceof SyntaxError) throw new SkreaverError({ status: response.status, code: 'invalid_response', message: `an event is not JSON: ${error.message}` });
          lastError = error;
        } finally {
          reader.cancel().catch(() => undefined);
        }
      }
      // The connection ended before the run did: resume after the last event.
      if (!this.runId || failures >= maxReconnects) {
        throw new SkreaverError({ status: 0, code: 'stream_ended', message: `the event stream ended before the run did (${failures} reconnects)`, cause: lastError });
      }
      failures += 1;
      this.reconnects += 1;
      await sleep(backoffMs(failures - 1, 100, 2_000), signal);
    }
  }
}

interface WsFrame {
  type?: string;
  event?: RunEventV1;
  ok?: boolean;
  error?: { code?: string; message?: string } | string;
  code?: string;
  message?: string;
}

/**
 * An agent's events (every run of it), live, over ws-gateway's plain WebSocket (`/ws`), resumed after a dropped
 * connection with `after` = the last event id received (the gateway replays what was missed); none twice.
 * Runs until `break` or the signal.
 */
export class AgentEventWatch implements AsyncIterable<RunEventV1> {
  lastEventId: string | undefined;
  reconnects = 0;

  constructor(
    private readonly transport: Transport,
    private readonly agentId: string,
    private readonly gatewayUrl: string,
    private readonly WebSocketImpl: WebSocketConstructor,
    private readonly options: StreamOptions = {},
  ) {
    this.lastEventId = options.after;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunEventV1> {
    const { signal } = this.options;
    const maxReconnects = this.options.maxReconnects ?? 5;
    const seen: string[] = [];
    let failures = 0;
    for (;;) {
      this.options.onState?.(this.reconnects === 0 ? 'connecting' : 'reconnecting');
      const token = (await this.transport.credential(signal)) ?? '';
      const url = `${this.gatewayUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/ws?token=${encodeURIComponent(token)}`;
      const socket: WebSocketLike = new this.WebSocketImpl(url);
      const queue: RunEventV1[] = [];
      let closed = false;
      let fatal: SkreaverError | undefined;
      let wake: () => void = () => undefined;
      const notify = () => wake();
      socket.onopen = () => socket.send(JSON.stringify({ type: 'subscribe', id: 1, agent_id: this.agentId, ...(this.lastEventId ? { after: this.lastEventId } : {}) }));
      socket.onmessage = (message) => {
        let frame: WsFrame;
        try {
          frame = JSON.parse(String(message.data)) as WsFrame;
        } catch {
          return;
        }
        if (frame.type === 'event' && frame.event) queue.push(frame.event);
        else if (frame.type === 'ack' && frame.ok === false) {
          const error = typeof frame.error === 'object' ? frame.error : { code: String(frame.error), message: String(frame.error) };
          fatal = new SkreaverError({ status: 0, code: error.code ?? 'subscribe_failed', message: error.message ?? 'subscribe refused' });
        } else if (frame.type === 'ack') {
          failures = 0;
          this.options.onState?.('live');
        }
        notify();
      };
      socket.onclose = () => {
        closed = true;
        notify();
      };
      socket.onerror = () => undefined;
      signal?.addEventListener('abort', notify, { once: true });
      try {
        for (;;) {
          if (signal?.aborted) throw signal.reason;
          const event = queue.shift();
          if (event) {
            if (seen.includes(event.id)) continue;
            seen.push(event.id);
            if (seen.length > 1_000) seen.shift();
            this.lastEventId = event.id;
            failures = 0;
            yield event;
            continue;
          }
          if (fatal) throw fatal;
          if (closed) break;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        signal?.removeEventListener('abort', notify);
        if (!closed) socket.close(1000);
      }
      if (failures >= maxReconnects) throw new SkreaverError({ status: 0, code: 'stream_ended', message: `the gateway connection dropped ${failures} times in a row` });
      failures += 1;
      this.reconnects += 1;
      await sleep(backoffMs(failures - 1, 100, 2_000), signal);
    }
  }
}
