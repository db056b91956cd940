import type { ClientToServerEvents, MeshEnvelopeV1, ReconnectHintV1, ServerToClientEvents, WsErrorV1 } from '@skreaver/contracts';
import type { Socket } from 'socket.io';

import type { Admission } from '../connections/connection-admission.service';
import type { EventFrame } from '../live/event-frame';
import type { LiveSession, SessionTransport } from '../live/live-session';

/** What the gateway keeps on a socket.io socket. */
export interface AgentsSocketData {
  admission?: Admission;
  session?: LiveSession;
}

export type AgentsSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, AgentsSocketData>;

/** A socket.io socket of namespace `/agents` as a session transport. */
export class SocketIoTransport implements SessionTransport {
  readonly kind = 'socket.io';

  constructor(private readonly socket: AgentsSocket) {}

  sendEvent(frame: EventFrame): void {
    this.socket.emit('event', frame.event);
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
