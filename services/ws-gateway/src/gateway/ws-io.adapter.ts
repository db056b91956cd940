import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';

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
}
