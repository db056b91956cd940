import { WsCloseCode } from '@skreaver/contracts';
import type { MeshEnvelopeV1, ReconnectHintV1, WsCloseCode as CloseCode, WsErrorCode, WsErrorV1, WsServerFrameV1 } from '@skreaver/contracts';
import { WebSocket } from 'ws';

import type { EventFrame } from '../live/event-frame';
import type { SessionTransport } from '../live/live-session';
import { coalesceWritesThisTick, netSocketOf } from './turn-writes';

/** A plain WebSocket of `/ws` as a session transport; every frame is a JSON object with a `type`. */
export class PlainWsTransport implements SessionTransport {
  readonly kind = 'ws';

  constructor(private readonly ws: WebSocket) {}

  /** Sends one server frame (acks, pongs and errors with the request id they answer). */
  send(frame: WsServerFrameV1): void {
    this.sendText(JSON.stringify(frame));
  }

  sendEvent(frame: EventFrame): void {
    this.sendText(frame.wsText);
  }

  sendMesh(message: MeshEnvelopeV1): void {
    this.send({ type: 'mesh', message });
  }

  sendError(error: WsErrorV1): void {
    this.send({ type: 'error', ...error });
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  closeWithError(error: WsErrorV1): void {
    this.sendError(error);
    this.ws.close(closeCodeOf(error.code), error.code);
  }

  closeForRestart(hint: ReconnectHintV1): void {
    this.send({ type: 'reconnect', ...hint });
    this.ws.close(WsCloseCode.serviceRestart, 'shutting_down');
  }

  terminate(): void {
    this.ws.terminate();
  }

  private sendText(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // `ws` writes every frame as it is sent: the frames of this tick go out together.
    const socket = netSocketOf(this.ws);
    if (socket) coalesceWritesThisTick(socket);
    this.ws.send(text);
  }
}

/** The close code that goes with an error ending a `/ws` connection. */
export function closeCodeOf(code: WsErrorCode): CloseCode | 1008 {
  switch (code) {
    case 'unauthorized':
      return WsCloseCode.unauthorized;
    case 'too_many_connections':
      return WsCloseCode.tooManyConnections;
    case 'shutting_down':
      return WsCloseCode.serviceRestart;
    case 'max_connections':
    case 'overloaded':
    case 'redis_unavailable':
    case 'database_unavailable':
    case 'internal_error':
      return WsCloseCode.tryAgainLater;
    default:
      return 1008;
  }
}
