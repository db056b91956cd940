import { Inject } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { OnGatewayConnection, OnGatewayInit } from '@nestjs/websockets';
import { AGENTS_NAMESPACE } from '@skreaver/contracts';
import type { AckV1, PongV1, WsErrorV1 } from '@skreaver/contracts';
import { nowIso } from '@skreaver/util';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import type { LiveSession } from '../live/live-session';
import { LiveSessions } from '../live/live-sessions.service';
import { SubscriptionsService } from '../live/subscriptions.service';
import { WebsocketMetrics } from '../live/websocket-metrics';
import { SocketIoAdmission } from './socket-io-admission.service';
import type { AgentsNamespace } from './socket-io-admission.service';
import { inboundProblem } from './socket-io-inbound';
import { SocketIoTransport } from './socket-io.transport';
import type { AgentsSocket } from './socket-io.transport';

/** socket.io namespace `/agents`: its connections are admitted by SocketIoAdmission; hands their messages to the live services. */
@WebSocketGateway({ namespace: AGENTS_NAMESPACE })
export class AgentsGateway implements OnGatewayInit, OnGatewayConnection {
  private initialised = false;

  constructor(
    private readonly socketIoAdmission: SocketIoAdmission,
    private readonly sessions: LiveSessions,
    private readonly subscriptions: SubscriptionsService,
    private readonly metrics: WebsocketMetrics,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  /** Whether the socket.io server is up (readiness). */
  get attached(): boolean {
    return this.initialised;
  }

  afterInit(namespace: AgentsNamespace): void {
    this.initialised = true;
    this.socketIoAdmission.attach(namespace);
  }

  handleConnection(socket: AgentsSocket): void {
    const { admission } = socket.data;
    if (!admission) {
      socket.disconnect(true);
      return;
    }
    const session = this.sessions.open(new SocketIoTransport(socket), admission);
    socket.data.session = session;
    socket.use(([event, ...args], next) => {
      this.metrics.received.inc();
      const problem = inboundProblem(event, args, this.config.WS_MAX_MESSAGE_BYTES);
      if (problem) this.answerRefused(socket, event, args, problem);
      else next();
    });
    socket.once('disconnect', (reason) => {
      if (reason === 'ping timeout') this.metrics.failed.inc({ reason: 'heartbeat_timeout' });
      this.sessions.closed(session);
    });
  }

  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: AgentsSocket, @MessageBody() payload: unknown): Promise<AckV1> {
    const ack = await this.subscriptions.subscribe(sessionOf(socket), payload);
    this.metrics.sent.inc();
    return ack;
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: AgentsSocket, @MessageBody() payload: unknown): AckV1 {
    this.metrics.sent.inc();
    return this.subscriptions.unsubscribe(sessionOf(socket), payload);
  }

  /** Answers with a `pong` event, and through the ack when the client passed one. */
  @SubscribeMessage('ping')
  ping(@ConnectedSocket() socket: AgentsSocket): PongV1 {
    const pong = { ts: nowIso() };
    socket.emit('pong', pong);
    this.metrics.sent.inc();
    return pong;
  }

  /** A refused message is answered through its ack when it has one (subscribe / unsubscribe), else with `error`. */
  private answerRefused(socket: AgentsSocket, event: string, args: readonly unknown[], problem: WsErrorV1): void {
    const ack = args.at(-1);
    if (typeof ack === 'function' && (event === 'subscribe' || event === 'unsubscribe')) ack({ ok: false, error: problem } satisfies AckV1);
    else socket.emit('error', problem);
    this.metrics.sent.inc();
  }
}

function sessionOf(socket: AgentsSocket): LiveSession {
  const { session } = socket.data;
  // Handlers only run for connected sockets, and handleConnection gives each one its session.
  if (!session) throw new Error(`socket ${socket.id} has no session`);
  return session;
}
