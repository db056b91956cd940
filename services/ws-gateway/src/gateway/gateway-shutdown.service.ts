import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { JsonLogger } from '@skreaver/observability';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import { ConnectionAdmission } from '../connections/connection-admission.service';
import { LiveSessions } from '../live/live-sessions.service';

// Long enough for clients to read the hint and close their side; the event stream is still tailed meanwhile.
const DRAIN_GRACE_MS = 3_000;

/**
 * Graceful shutdown, first of all shutdown hooks (the tailer stops later): refuse new connections, tell every client
 * to reconnect elsewhere and resume (socket.io `reconnect` hint, `/ws` close 1012), wait for them to go.
 */
@Injectable()
export class GatewayShutdown implements OnModuleDestroy {
  constructor(
    private readonly admission: ConnectionAdmission,
    private readonly sessions: LiveSessions,
    private readonly logger: JsonLogger,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  async onModuleDestroy(): Promise<void> {
    this.admission.stopAccepting();
    const open = this.sessions.size;
    await this.sessions.drain(Math.min(DRAIN_GRACE_MS, this.config.SHUTDOWN_TIMEOUT_MS / 2));
    this.logger.write('info', 'Told clients to reconnect elsewhere', { connections: open }, 'ws');
  }
}
