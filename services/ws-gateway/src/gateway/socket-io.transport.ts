import type { ClientToServerEvents, MeshEnvelopeV1, ReconnectHintV1, ServerToClientEvents, WsErrorV1 } from '@skreaver/contracts';
import type { Socket } from 'socket.io';
import { WebSocket } from 'ws';

import type { Admission } from '../connections/connection-admission.service';
import type { EventFrame } from '../live/event-frame';
import type { LiveSession, SessionTransport } from '../live/live-session';
import { coalesceWritesThisTick, netSocketOf } from './turn-writes';

/** What the gateway keeps on a socket.io socket. */
export interface AgentsSocketData {
  admission?: Admission;
  session?: LiveSession;
}

export type AgentsSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, AgentsSocketData>;

/** A socket.io socket of namespace `/agents` as a session transport. */
export class SocketIoTransport implements SessionTransport {
  readonly kind = 'socket.io';

  constructor(private readonly socket: AgentsSocket) {
    // engine.io sends a packet at once while its transport is idle and queues the rest until that write is done,
    // then flushes the queue with one write per packet; corked, a flushed queue (a replay, a dispatch batch's
    // events) leaves in one writev.
    socket.conn.on('flush', (queued: unknown[]) => {
      if (queued.length < 2) return;
      const ws: unknown = Reflect.get(socket.conn.transport, 'socket');
      const raw = typeof ws === 'object' && ws !== null ? netSocketOf(ws) : undefined;
      if (raw) coalesceWritesThisTick(raw);
    });
  }

  sendEvent(frame: EventFrame): void {
    // What a socket.io broadcast does: encode the packet (and its WebSocket frame) once per event, not once per socket.
    const encoded = frame.encodedFor(this.socket.nsp, (event) => encodeEvent(this.socket, event));
    this.socket.client._packet(encoded.packets, encoded.options);
  }

  sendMesh(message: MeshEnvelopeV1): void {
    this.socket.emit('mesh', message);
  }

  sendError(error: WsErrorV1): void {
    this.socket.emit('error', error);
  }

  bufferedBytes(): number {
    return engineBufferedBytes(this.socket.conn);
  }

  closeWithError(error: WsErrorV1): void {
    this.socket.emit('error', error);
    // A namespace disconnect: the client does not reconnect on its own (its credential needs renewing first).
    this.socket.disconnect(true);
  }

  closeForRestart(hint: ReconnectHintV1): void {
    this.socket.emit('reconnect', hint);
    // Closing the engine connection (after what is queued) makes socket.io clients reconnect by themselves.
    this.socket.conn.close();
  }

  terminate(): void {
    const conn = this.socket.conn;
    conn.close(true);
    // A discarded transport still waits for its close handshake; the raw socket drops the backlog at once.
    rawWebSocketOf(conn.transport)?.terminate();
  }
}

type EngineSocket = AgentsSocket['conn'];

interface EncodedEvent {
  packets: ReturnType<AgentsSocket['nsp']['server']['encoder']['encode']>;
  options: { preEncoded: true; wsPreEncodedFrame?: unknown };
}

/** The `event` packet of the socket's namespace, encoded by its server, plus the WebSocket frame carrying it. */
function encodeEvent(socket: AgentsSocket, event: unknown): EncodedEvent {
  // Packet type 2 is socket.io's EVENT.
  const packets = socket.nsp.server.encoder.encode({ type: 2, data: ['event', event], nsp: socket.nsp.name });
  const [only] = packets;
  const frame = wsFrameEncoder();
  if (packets.length !== 1 || typeof only !== 'string' || !frame) return { packets, options: { preEncoded: true } };
  // "4" is engine.io's message packet type; engine.io sends this frame as is on WebSocket transports (as socket.io's
  // own broadcasts do), and encodes the packet itself on polling ones.
  const wsPreEncodedFrame = frame(Buffer.from(`4${only}`), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true });
  return { packets, options: { preEncoded: true, wsPreEncodedFrame } };
}

/** `ws`'s `Sender.frame`, which its typings leave out; undefined if a `ws` version lacks it. */
function wsFrameEncoder(): ((data: Buffer, options: Record<string, unknown>) => unknown) | undefined {
  const sender: unknown = Reflect.get(WebSocket, 'Sender');
  const frame: unknown = typeof sender === 'function' ? Reflect.get(sender, 'frame') : undefined;
  if (typeof frame !== 'function') return undefined;
  return (data, options) => Reflect.apply(frame, sender, [data, options]);
}

/**
 * Bytes engine.io holds for a client: packets it queues while the transport is busy (`writeBuffer`, which
 * engine.io's typings keep private) plus what the WebSocket has not yet handed to the kernel.
 */
function engineBufferedBytes(conn: EngineSocket): number {
  let bytes = rawWebSocketOf(conn.transport)?.bufferedAmount ?? 0;
  const queued: unknown = Reflect.get(conn, 'writeBuffer');
  if (Array.isArray(queued)) {
    for (const packet of queued) {
      const data: unknown = typeof packet === 'object' && packet !== null ? Reflect.get(packet, 'data') : undefined;
      if (typeof data === 'string') bytes += data.length;
      else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) bytes += data.byteLength;
    }
  }
  return bytes;
}

interface RawWebSocket {
  bufferedAmount: number;
  terminate(): void;
}

/** The `ws` socket under engine.io's websocket transport (none for long-polling). */
function rawWebSocketOf(transport: EngineSocket['transport']): RawWebSocket | undefined {
  const socket: unknown = Reflect.get(transport, 'socket');
  if (typeof socket !== 'object' || socket === null) return undefined;
  const bufferedAmount: unknown = Reflect.get(socket, 'bufferedAmount');
  const terminate: unknown = Reflect.get(socket, 'terminate');
  if (typeof bufferedAmount !== 'number' || typeof terminate !== 'function') return undefined;
  return { bufferedAmount, terminate: () => Reflect.apply(terminate, socket, []) };
}
