import type { RunEventV1 } from './contracts';

import { SkreaverError, isAbort } from './errors';
import { SseParser } from './sse';
import { backoffMs, path, sleep } from './transport';
import type { Call, CallOptions, Transport, WebSocketConstructor, WebSocketLike } from './transport';

/**
 * ws-gateway refusals that mean "this replica is busy, try again" (`overloaded`: too many connections opening at
 * once; `max_connections`: full). They are retried after a backoff however often they come: they are not failures
 * of the stream, and a reconnect storm is exactly when they come in a row.
 */
const BUSY_CODES: ReadonlySet<string> = new Set(['overloaded', 'max_connections']);

/** The backoff after the `attempt`-th busy refusal in a row (from 0): full jitter up to 250 ms · 2^attempt, at most 4 s. */
function busyBackoffMs(attempt: number): number {
  return backoffMs(attempt, 250, 4_000);
}

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
  /**
   * `runs.stream` only: `sse` reads agent-api's server-sent events even when the client could use ws-gateway (a UI
   * that already found the gateway unreachable); `auto` (the default) prefers socket.io when the client has it.
   */
  via?: 'auto' | 'sse';
}

/** `busy`: the gateway refused the connection as busy (`overloaded`, `max_connections`); retried after a backoff. */
export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'busy';

/** Whether `event` ends its run's log (a non-final `run.failed` does not: a retry follows). Mirrors contracts' `isTerminalEvent`. */
export function isTerminalEvent(event: RunEventV1): boolean {
  return event.type === 'run.completed' || event.type === 'run.cancelled' || (event.type === 'run.failed' && event.data.final);
}

/** The seq of an event id (`<run_id>:<seq>`); 0 when it is not one. */
function seqOf(eventId: string | undefined): number {
  const seq = Number(eventId?.slice(eventId.lastIndexOf(':') + 1));
  return Number.isSafeInteger(seq) ? seq : 0;
}

/**
 * A run's events, live, as an async iterator: over socket.io (ws-gateway's `/agents` namespace, a `run_id`
 * subscription) when the client has `gatewayUrl` and `io`, else over server-sent events (`GET /runs/{id}/events`).
 * A dropped connection is resumed after the last event yielded (`after` / `Last-Event-ID`): every event is yielded
 * once, in order; the iteration ends after the run's terminal event. When the gateway cannot be reached twice in a
 * row, or refuses the subscription, the stream goes on over SSE from the same point. `break` (or the signal) closes
 * the connection.
 */
export class RunEventStream implements AsyncIterable<RunEventV1> {
  /** The run's id: given, or (for `runs.create(…, { stream: true })`) from `X-Run-Id` once the answer arrived. */
  runId: string | undefined;
  /** The id of the last event yielded: pass it as `after` to continue elsewhere. */
  lastEventId: string | undefined;
  /** How many times the connection was re-opened. */
  reconnects = 0;
  /** What the current (or last) connection is: `socket.io` (ws-gateway) or `sse` (agent-api). */
  via: 'socket.io' | 'sse';

  constructor(
    private readonly transport: Transport,
    runId: string | undefined,
    private readonly options: StreamOptions = {},
    /** The first request, when it is not `GET /runs/{id}/events` (a POST that starts the run and streams it). */
    private readonly opening?: Call,
    /** ws-gateway's run subscriptions (socket.io), when the client has them; SSE otherwise. */
    private readonly live?: RunLiveConnector,
  ) {
    this.runId = runId;
    this.lastEventId = options.after;
    this.via = live && !opening ? 'socket.io' : 'sse';
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunEventV1> {
    const { signal } = this.options;
    const maxReconnects = this.options.maxReconnects ?? 5;
    let opening = this.opening;
    let lastSeq = seqOf(this.lastEventId);
    let failures = 0;
    let lastError: unknown;
    // socket.io attempts in a row that never reached the gateway's acknowledgement; at 2 the stream uses SSE.
    let unreachable = 0;
    // Busy refusals in a row (see BUSY_CODES): they grow the backoff only.
    let busyRefusals = 0;
    let runChecked = false;
    for (;;) {
      this.options.onState?.(failures === 0 && this.reconnects === 0 ? 'connecting' : 'reconnecting');
      this.via = this.live && !opening && this.runId && unreachable < 2 ? 'socket.io' : 'sse';
      if (this.via === 'socket.io') {
        const runId = this.runId as string;
        let acknowledged = false;
        let busy = false;
        try {
          // A subscription to a run that does not exist would wait forever: the run is looked up once (404 thrown as SSE would).
          if (!runChecked) await this.transport.json({ method: 'GET', path: path`/runs/${runId}`, signal, idempotent: true });
          runChecked = true;
          const token = (await this.transport.credential(signal)) ?? '';
          // Without `after`, the whole log: the gateway replays a run subscription after seq 0.
          const after = this.lastEventId ?? `${runId}:0`;
          const connection = liveEvents(
            (handlers) => (this.live as RunLiveConnector)({ runId, after, token }, handlers),
            signal,
            () => {
              acknowledged = true;
              unreachable = 0;
              busyRefusals = 0;
              this.options.onState?.('live');
            },
            () => (busy = true),
          );
          for await (const event of connection) {
            if (event.seq <= lastSeq) continue;
            lastSeq = event.seq;
            this.lastEventId = event.id;
            failures = 0;
            yield event;
            if (isTerminalEvent(event)) return;
            if (signal?.aborted) throw signal.reason;
          }
        } catch (error) {
          if (isAbort(error, signal)) throw signal?.reason ?? error;
          if (!(error instanceof SkreaverError) || error.status !== 0) throw error;
          lastError = error;
          // Refused by the gateway (e.g. `replay_unavailable`): agent-api's log has every event, go on over SSE.
          // (A lookup that got no answer is agent-api's drop, not the gateway's: retried below like any other.)
          if (runChecked) {
            unreachable = 2;
            continue;
          }
        }
        if (busy) {
          // The gateway is reachable, only busy: back off and come back to it (not to SSE, not counted as a failure).
          this.reconnects += 1;
          this.options.onState?.('busy');
          await sleep(busyBackoffMs(busyRefusals++), signal);
          continue;
        }
        if (!acknowledged && runChecked) unreachable += 1;
      } else {
        let response: Response | undefined;
        const call: Call = opening ?? {
          method: 'GET',
          path: path`/runs/${this.runId as string}/events`,
          headers: { accept: 'text/event-stream', ...(this.lastEventId ? { 'last-event-id': this.lastEventId } : {}) },
          signal,
          idempotent: true,
        };
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

/** What a live connection reports to {@link AgentEventWatch}. */
export interface LiveHandlers {
  event(event: RunEventV1): void;
  /** The subscription is acknowledged: events follow. */
  live(): void;
  /** The connection is gone (the watch reconnects). */
  closed(): void;
  /** The subscription was refused (the watch ends with this error). */
  fatal(error: SkreaverError): void;
  /** The gateway refused the connection as busy (`overloaded`, `max_connections`): retry after a backoff. Then `closed`. */
  busy(): void;
}

/** Opens one connection to ws-gateway subscribed to `agentId` after `after`; `close()` ends it. */
export type LiveConnector = (target: { agentId: string; after?: string; token: string }, handlers: LiveHandlers) => { close(): void };

interface AckLike {
  ok?: boolean;
  error?: { code?: string; message?: string } | string;
}

function refusal(ack: AckLike): SkreaverError {
  const error = typeof ack.error === 'object' ? ack.error : { code: String(ack.error), message: String(ack.error) };
  return new SkreaverError({ status: 0, code: error.code ?? 'subscribe_failed', message: error.message ?? 'subscribe refused' });
}

/** The plain-WebSocket connector: ws-gateway's `/ws` (credential in `?token=`, since browsers cannot set headers). */
export function webSocketConnector(gatewayUrl: string, WebSocketImpl: WebSocketConstructor): LiveConnector {
  return ({ agentId, after, token }, handlers) => {
    const socket: WebSocketLike = new WebSocketImpl(`${gatewayUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/ws?token=${encodeURIComponent(token)}`);
    let closed = false;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'subscribe', id: 1, agent_id: agentId, ...(after ? { after } : {}) }));
    socket.onmessage = (message) => {
      let frame: AckLike & { type?: string; event?: RunEventV1 };
      try {
        frame = JSON.parse(String(message.data)) as typeof frame;
      } catch {
        return;
      }
      if (frame.type === 'event' && frame.event) handlers.event(frame.event);
      else if (frame.type === 'ack' && frame.ok === false) handlers.fatal(refusal(frame));
      else if (frame.type === 'ack') handlers.live();
    };
    socket.onclose = (event) => {
      closed = true;
      if (event.code === WS_TRY_AGAIN_LATER && BUSY_CODES.has(event.reason ?? '')) handlers.busy();
      handlers.closed();
    };
    socket.onerror = () => undefined;
    return { close: () => (closed ? undefined : socket.close(1000)) };
  };
}

// `/ws` closes a connection refused as busy with 1013 (try again later) and the code as the reason.
const WS_TRY_AGAIN_LATER = 1013;

/** What the socket.io connectors need of socket.io-client's `io` (pass `io` from `socket.io-client`). */
export type SocketIoFactory = (url: string, options: { transports: string[]; auth: { token: string }; reconnection: boolean; forceNew: boolean }) => SocketIoLike;
export interface SocketIoLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(): unknown;
}

/** Opens ws-gateway's run subscriptions (`runs.stream` over socket.io): one connection subscribed to `runId` after `after`. */
export type RunLiveConnector = (target: { runId: string; after?: string; token: string }, handlers: LiveHandlers) => { close(): void };

/**
 * One socket.io connection to ws-gateway's `/agents` namespace with one subscription (`subscribe` with `payload`).
 * socket.io's own reconnection is off: the streams reconnect themselves, with a fresh credential and `after`, the
 * same way for every transport.
 */
function socketIoSubscription(gatewayUrl: string, io: SocketIoFactory, payload: Record<string, string>, token: string, handlers: LiveHandlers): { close(): void } {
  const socket = io(`${gatewayUrl.replace(/\/+$/, '')}/agents`, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    handlers.closed();
  };
  socket.on('connect', () => socket.emit('subscribe', payload, (ack: AckLike) => (ack?.ok === false ? handlers.fatal(refusal(ack)) : handlers.live())));
  socket.on('event', (event: RunEventV1) => handlers.event(event));
  socket.on('disconnect', close);
  // A refusal's `connect_error` carries the gateway's code as its message.
  socket.on('connect_error', (error: Error) => {
    if (BUSY_CODES.has(error?.message)) handlers.busy();
    close();
  });
  return {
    close: () => {
      closed = true;
      socket.disconnect();
    },
  };
}

/** The socket.io connector of `agents.watch`: ws-gateway's `/agents` namespace, an `agent_id` subscription. */
export function socketIoConnector(gatewayUrl: string, io: SocketIoFactory): LiveConnector {
  return ({ agentId, after, token }, handlers) => socketIoSubscription(gatewayUrl, io, { agent_id: agentId, ...(after ? { after } : {}) }, token, handlers);
}

/** The socket.io connector of `runs.stream`: a `run_id` subscription, replayed after `after`. */
export function socketIoRunConnector(gatewayUrl: string, io: SocketIoFactory): RunLiveConnector {
  return ({ runId, after, token }, handlers) => socketIoSubscription(gatewayUrl, io, { run_id: runId, ...(after ? { after } : {}) }, token, handlers);
}

/**
 * One live connection as an async generator: the events it receives, until it closes (the generator returns) or
 * its subscription is refused (it throws that {@link SkreaverError}). Leaving the loop closes the connection.
 */
async function* liveEvents(
  open: (handlers: LiveHandlers) => { close(): void },
  signal: AbortSignal | undefined,
  onLive: () => void,
  onBusy: () => void,
): AsyncGenerator<RunEventV1, void> {
  const queue: RunEventV1[] = [];
  let closed = false;
  let fatal: SkreaverError | undefined;
  let wake: () => void = () => undefined;
  const notify = () => wake();
  const connection = open({
    event: (event) => {
      queue.push(event);
      notify();
    },
    live: onLive,
    busy: onBusy,
    closed: () => {
      closed = true;
      notify();
    },
    fatal: (error) => {
      fatal = error;
      notify();
    },
  });
  signal?.addEventListener('abort', notify, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const event = queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (fatal) throw fatal;
      if (closed) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal?.removeEventListener('abort', notify);
    connection.close();
  }
}

/**
 * An agent's events (every run of it), live, through ws-gateway (plain WebSocket `/ws`, or socket.io), resumed
 * after a dropped connection with `after` = the last event id received (the gateway replays what was missed); none
 * twice. Runs until `break` or the signal.
 */
export class AgentEventWatch implements AsyncIterable<RunEventV1> {
  lastEventId: string | undefined;
  reconnects = 0;

  constructor(
    private readonly transport: Transport,
    private readonly agentId: string,
    private readonly connector: LiveConnector,
    private readonly options: StreamOptions = {},
  ) {
    this.lastEventId = options.after;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunEventV1> {
    const { signal } = this.options;
    const maxReconnects = this.options.maxReconnects ?? 5;
    const seen: string[] = [];
    let failures = 0;
    // Busy refusals in a row (see BUSY_CODES): they grow the backoff only.
    let busyRefusals = 0;
    for (;;) {
      this.options.onState?.(this.reconnects === 0 ? 'connecting' : 'reconnecting');
      const token = (await this.transport.credential(signal)) ?? '';
      let busy = false;
      const connection = liveEvents(
        (handlers) => this.connector({ agentId: this.agentId, after: this.lastEventId, token }, handlers),
        signal,
        () => {
          failures = 0;
          busyRefusals = 0;
          this.options.onState?.('live');
        },
        () => (busy = true),
      );
      for await (const event of connection) {
        if (seen.includes(event.id)) continue;
        seen.push(event.id);
        if (seen.length > 1_000) seen.shift();
        this.lastEventId = event.id;
        failures = 0;
        yield event;
        if (signal?.aborted) throw signal.reason;
      }
      if (busy) {
        this.reconnects += 1;
        this.options.onState?.('busy');
        await sleep(busyBackoffMs(busyRefusals++), signal);
        continue;
      }
      if (failures >= maxReconnects) throw new SkreaverError({ status: 0, code: 'stream_ended', message: `the gateway connection dropped ${failures} times in a row` });
      failures += 1;
      this.reconnects += 1;
      await sleep(backoffMs(failures - 1, 100, 2_000), signal);
    }
  }
}
