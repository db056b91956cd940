import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions } from 'socket.io';

// The socket.io that @nestjs/platform-socket.io creates servers with (it may hold its own copy of the package).
type AdapterSocket = Parameters<IoAdapter['bindMessageHandlers']>[0];

import type { WsGatewayConfig } from '../config';
import { transportMessageCap } from './message-limits';

/** socket.io server with the gateway's limits and heartbeat, sharing the HTTP port with `/ws`. */
export class WsIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: Pick<WsGatewayConfig, 'WS_MAX_MESSAGE_BYTES' | 'WS_PING_INTERVAL_MS'>,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: transportMessageCap(this.config.WS_MAX_MESSAGE_BYTES),
      // A client that misses a ping for a whole interval more is gone: the same two-missed-pongs rule as /ws.
      pingInterval: this.config.WS_PING_INTERVAL_MS,
      pingTimeout: this.config.WS_PING_INTERVAL_MS,
      perMessageDeflate: false,
      // engine.io would otherwise end every other upgrade (our /ws) that has not answered within a second,
      // and /ws authenticates (a database lookup for API keys) before it answers; /ws ends foreign upgrades itself.
      destroyUpgrade: false,
    }) as Server;
  }

  /**
   * Binds the `@SubscribeMessage` handlers with one plain listener per message. Nest's own binding builds an rxjs
   * pipeline per handler for every socket (fromEvent, mergeMap, takeUntil its disconnect) that each idle connection
   * holds for its whole life; this makes the same calls and acks, and builds the observable per message instead.
   */
  override bindMessageHandlers(socket: AdapterSocket, handlers: MessageMappingProperties[], transform: (data: unknown) => Observable<unknown>): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(String(message), (...args: unknown[]) => {
        // What rxjs' fromEvent would have emitted: the only argument, or all of them as an array.
        const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args);
        transform(callback(data, ack)).subscribe((response) => {
          if (response === null || response === undefined) return;
          if (isEventResponse(response)) {
            socket.emit(response.event, response.data);
            return;
          }
          if (!isAckHandledManually && typeof ack === 'function') ack(response);
        });
      });
    }
  }
}

/** A handler's `{ event, data }` answer, emitted as that event instead of acked. */
function isEventResponse(response: unknown): response is { event: string; data: unknown } {
  return typeof response === 'object' && response !== null && 'event' in response && typeof response.event === 'string' && response.event !== '';
}
