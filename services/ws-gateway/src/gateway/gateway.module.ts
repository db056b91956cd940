import { Module } from '@nestjs/common';
import { MessagingModule } from '@skreaver/messaging';

import { AuthModule } from '../auth/auth.module';
import { ConnectionAdmission } from '../connections/connection-admission.service';
import { AuthRevocationsConsumer } from '../consumers/auth-revocations.consumer';
import { LiveModule } from '../live/live.module';
import { AgentsGateway } from './agents.gateway';
import { GatewayShutdown } from './gateway-shutdown.service';
import { PlainWebSocketGateway } from './plain-ws.gateway';
import { SocketIoAdmission } from './socket-io-admission.service';

/** The two transports (socket.io `/agents`, plain WebSocket `/ws`), who may connect to them (and stay connected), and their shutdown. */
@Module({
  imports: [MessagingModule, AuthModule, LiveModule],
  providers: [AgentsGateway, AuthRevocationsConsumer, ConnectionAdmission, GatewayShutdown, PlainWebSocketGateway, SocketIoAdmission],
  exports: [AgentsGateway, PlainWebSocketGateway],
})
export class GatewayModule {}
