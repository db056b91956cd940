import { Inject } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit } from '@nestjs/websockets';
import { AGENTS_NAMESPACE } from '@skreaver/contracts';
import type { AckV1, ClientToServerEvents, ServerToClientEvents } from '@skreaver/contracts';
import type { Socket } from 'socket.io';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import { LiveEventsService } from '../live/live-events.service';
import type { AgentsNamespace } from '../live/live-events.service';
import { SubscriptionsService } from '../live/subscriptions.service';
import { WebsocketMetrics } from '../live/websocket-metrics';

type AgentsSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** socket.io namespace `/agents`: admits connections, and turns `subscribe` / `unsubscribe` into room changes. */
@WebSocketGateway({ namespace: AGENTS_NAMESPACE })
export class AgentsGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  constructor(
    private readonly live: LiveEventsService,
    private readonly subscriptions: SubscriptionsService,
    private readonly metrics: WebsocketMetrics,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  afterInit(namespace: AgentsNamespace): void {
    this.live.attach(namespace);
  }

  handleConnection(socket: AgentsSocket): void {
    if (socket.nsp.sockets.size > this.config.WEBSOCKET_MAX_CONNECTIONS) {
      this.metrics.failed.inc({ reason: 'max_connections' });
      socket.data.refused = true;
      socket.emit('error', { code: 'internal_error', message: 'this gateway replica is at its connection limit; reconnect' });
      socket.disconnect(true);
      return;
    }
    this.metrics.total.inc();
    this.metrics.active.inc();
    socket.on('disconnecting', () => this.subscriptions.dropped(socket.rooms.size - 1));
  }

  handleDisconnect(socket: AgentsSocket): void {
    // Refused sockets were never counted as active.
    if (socket.data.refused !== true) this.metrics.active.dec();
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: AgentsSocket, @MessageBody() payload: unknown): Promise<AckV1> {
    this.metrics.received.inc();
    return this.subscriptions.subscribe(socket, payload);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: AgentsSocket, @MessageBody() payload: unknown): Promise<AckV1> {
    this.metrics.received.inc();
    return this.subscriptions.unsubscribe(socket, payload);
  }
}
