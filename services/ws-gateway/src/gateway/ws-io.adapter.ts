import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';

/** socket.io server with the gateway's limits applied to every namespace. */
export class WsIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly limits: { maxMessageBytes: number },
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: this.limits.maxMessageBytes,
      pingInterval: 20_000,
      pingTimeout: 20_000,
    }) as Server;
  }
}
