// A client process of the `sockets` scenario (forked, driven over IPC): holds thousands of socket.io clients of
// `/agents`, each subscribed to one agent, records every event id each receives across its connections, and, once
// armed, reconnects a dropped client and resumes it after its last event the way the SDK does (own reconnection,
// backoff with full jitter from 100 ms to 2 s, `after` = the last event id). Several of these processes share the
// load because one process may hold at most `ulimit -n` descriptors.
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { AGENTS_NAMESPACE } from '@skreaver/contracts';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';

import type { ResumeStages, SocketsCommand, SocketsReply, SocketsStats, SocketsVerdict } from './sockets-protocol';

const CONNECT_TIMEOUT_MS = 20_000;
const ACK_TIMEOUT_MS = 20_000;
// The SDK's reconnect backoff (libs/sdk stream.ts): full jitter in [0, min(2 s, 100 ms · 2^failures)].
const BACKOFF_INITIAL_MS = 100;
const BACKOFF_MAX_MS = 2_000;
// After a busy refusal (`overloaded`, `max_connections`), the SDK's busy backoff: up to 250 ms · 2^n, at most 4 s.
const BUSY_CODES = new Set(['overloaded', 'max_connections']);
const BUSY_INITIAL_MS = 250;
const BUSY_MAX_MS = 4_000;

interface Client {
  readonly agentId: string;
  readonly localAddress: string;
  socket: Socket | undefined;
  readonly received: string[];
  closed: boolean;
  droppedAt?: number;
}

const clients: Client[] = [];
// This process's own event-loop delay from `arm` on: thousands of sockets in one process delay their own callbacks,
// which the stage timestamps then include (an SDK client holds one socket).
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let rearmUrl: string | undefined;
let token = '';
const stats: SocketsStats = { open: 0, withEvents: 0, events: 0, down: 0, resumed: 0, retries: 0, busy: 0, connectBusy: 0, resumeDelaysMs: [], resumeStages: [], failedAttempts: {} };

function backoffMs(failures: number, initialMs = BACKOFF_INITIAL_MS, maxMs = BACKOFF_MAX_MS): number {
  return Math.round(Math.random() * Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30)));
}

/** When an attempt reached each stage (Date.now); 0: not reached. */
type AttemptTrace = Pick<ResumeStages, 'attempt' | 'tcp' | 'upgraded' | 'open' | 'connected' | 'resumed'>;

// What of socket.io-client's internals the trace reads: the engine.io socket, its transport's `ws` WebSocket and
// that WebSocket's HTTP request (all created synchronously by `io()`).
interface TracedInternals {
  engine?: {
    once(event: 'open', listener: () => void): void;
    transport?: { ws?: { once(event: 'upgrade', listener: () => void): void; _req?: { once(event: 'socket', listener: (socket: NodeJS.EventEmitter & { connecting?: boolean }) => void): void } } };
  };
}

/** Records in `trace` when the TCP connect, the HTTP upgrade and engine.io's open of `socket` happen. */
function traceStages(socket: Socket, trace: AttemptTrace): void {
  const engine = (socket.io as unknown as TracedInternals).engine;
  const ws = engine?.transport?.ws;
  ws?._req?.once('socket', (tcp) => {
    if (tcp.connecting === false) trace.tcp = Date.now();
    else tcp.once('connect', () => (trace.tcp = Date.now()));
  });
  ws?.once('upgrade', () => (trace.upgraded = Date.now()));
  engine?.once('open', () => (trace.open = Date.now()));
}

/** Opens one socket.io connection for `client` and subscribes it (after its last event when it has one). */
async function open(client: Client, url: string, trace?: AttemptTrace): Promise<void> {
  const socket = io(`${url}${AGENTS_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
    localAddress: client.localAddress,
  } as Parameters<typeof io>[1]);
  if (trace) traceStages(socket, trace);
  socket.on('event', (event: { id: string }) => client.received.push(event.id));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        if (trace) trace.connected = Date.now();
        resolve();
      });
      socket.once('connect_error', (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const after = client.received.at(-1);
    const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('subscribe', { agent_id: client.agentId, ...(after ? { after } : {}) })) as {
      ok?: boolean;
      error?: { code?: string };
    };
    if (!ack.ok) throw new Error(`subscribe refused: ${ack.error?.code ?? JSON.stringify(ack)}`);
    if (trace) trace.resumed = Date.now();
  } catch (error) {
    socket.removeAllListeners();
    socket.close();
    throw error;
  }
  client.socket = socket;
  socket.once('disconnect', () => {
    client.socket = undefined;
    if (client.closed || !rearmUrl) return;
    void resume(client, rearmUrl);
  });
}

/** Reconnects a dropped client until it is subscribed again after its last event. */
async function resume(client: Client, url: string): Promise<void> {
  client.droppedAt = Date.now();
  stats.firstDropAt ??= client.droppedAt;
  stats.down += 1;
  let busy = 0;
  let firstAttempt = 0;
  for (let failures = 0, attempts = 1; !client.closed; attempts += 1) {
    await new Promise((resolve) => setTimeout(resolve, busy > 0 ? backoffMs(busy - 1, BUSY_INITIAL_MS, BUSY_MAX_MS) : backoffMs(failures)));
    const trace: AttemptTrace = { attempt: Date.now(), tcp: 0, upgraded: 0, open: 0, connected: 0, resumed: 0 };
    firstAttempt ||= trace.attempt;
    try {
      await open(client, url, trace);
      const now = Date.now();
      stats.down -= 1;
      stats.resumed += 1;
      stats.lastResumeAt = Math.max(stats.lastResumeAt ?? 0, now);
      stats.resumeDelaysMs.push(now - client.droppedAt);
      stats.resumeStages.push({ dropped: client.droppedAt, firstAttempt, attempts, ...trace });
      return;
    } catch (error) {
      stats.retries += 1;
      const reason = error instanceof Error ? error.message : String(error);
      stats.firstRetryReason ??= reason;
      const reached = trace.connected ? 'socket.io connect' : trace.open ? 'engine.io open' : trace.upgraded ? 'HTTP 101' : trace.tcp ? 'TCP' : 'nothing';
      const key = `${reason} after ${reached}`;
      stats.failedAttempts[key] = (stats.failedAttempts[key] ?? 0) + 1;
      if (BUSY_CODES.has(reason)) {
        busy += 1;
        stats.busy += 1;
      } else {
        busy = 0;
        failures += 1;
      }
    }
  }
}

/** Opens `client`, retrying busy refusals after the SDK's busy backoff (a replica connecting hundreds at once refuses some). */
async function openRetryingBusy(client: Client, url: string): Promise<void> {
  for (let busy = 0; ; busy += 1) {
    try {
      return await open(client, url);
    } catch (error) {
      if (!(error instanceof Error && BUSY_CODES.has(error.message))) throw error;
      stats.connectBusy += 1;
      await new Promise((resolve) => setTimeout(resolve, backoffMs(busy, BUSY_INITIAL_MS, BUSY_MAX_MS)));
    }
  }
}

async function connect(command: Extract<SocketsCommand, { cmd: 'connect' }>): Promise<SocketsReply> {
  token = command.token;
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  const fresh: Client[] = Array.from({ length: command.count }, (_, i) => ({
    agentId: command.agentIds[i % command.agentIds.length] ?? '',
    localAddress: command.localAddresses[i % command.localAddresses.length] ?? '127.0.0.1',
    socket: undefined,
    received: [],
    closed: false,
  }));
  for (let i = 0; i < fresh.length; i += command.parallel) {
    await Promise.all(
      fresh.slice(i, i + command.parallel).map(async (client) => {
        try {
          await openRetryingBusy(client, command.url);
          clients.push(client);
          connected += 1;
        } catch (error) {
          failed += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }),
    );
  }
  return { done: 'connect', connected, failed, ...(firstError ? { firstError } : {}) };
}

function currentStats(): SocketsStats {
  let open = 0;
  let withEvents = 0;
  let events = 0;
  for (const client of clients) {
    if (client.socket?.connected) open += 1;
    if (client.received.length > 0) withEvents += 1;
    events += client.received.length;
  }
  const loop = { loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 };
  return { ...stats, ...loop, open, withEvents, events, resumeDelaysMs: [...stats.resumeDelaysMs], resumeStages: [...stats.resumeStages], failedAttempts: { ...stats.failedAttempts } };
}

function verify(expected: Record<string, string[]>): SocketsVerdict {
  const verdict: SocketsVerdict = { sockets: clients.length, expected: 0, missing: 0, duplicates: 0, unexpected: 0, socketsWithLoss: 0, socketsOutOfOrder: 0 };
  for (const client of clients) {
    const wanted = new Set(expected[client.agentId] ?? []);
    verdict.expected += wanted.size;
    const seen = new Set<string>();
    const lastSeq = new Map<string, number>();
    let outOfOrder = false;
    for (const id of client.received) {
      if (seen.has(id)) verdict.duplicates += 1;
      else if (!wanted.has(id)) verdict.unexpected += 1;
      seen.add(id);
      const colon = id.lastIndexOf(':');
      const run = id.slice(0, colon);
      const seq = Number(id.slice(colon + 1));
      if (seq <= (lastSeq.get(run) ?? 0)) outOfOrder = true;
      lastSeq.set(run, seq);
    }
    let missing = 0;
    for (const id of wanted) if (!seen.has(id)) missing += 1;
    verdict.missing += missing;
    if (missing > 0) verdict.socketsWithLoss += 1;
    if (outOfOrder) verdict.socketsOutOfOrder += 1;
  }
  return verdict;
}

async function handle(command: SocketsCommand): Promise<SocketsReply> {
  switch (command.cmd) {
    case 'connect':
      return connect(command);
    case 'stats':
      return { done: 'stats', stats: currentStats() };
    case 'arm':
      rearmUrl = command.url;
      loopDelay.reset();
      loopDelay.enable();
      return { done: 'arm' };
    case 'close-all':
      for (const client of clients) {
        client.closed = true;
        client.socket?.close();
      }
      return { done: 'close-all' };
    case 'verify':
      return { done: 'verify', verdict: verify(command.expected) };
  }
}

process.on('message', (command: SocketsCommand) => {
  handle(command).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ done: command.cmd, firstError: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
