import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { RedisHealth } from '@skreaver/messaging';
import { ReadinessService } from '@skreaver/observability';
import { DatabaseHealth } from '@skreaver/persistence';

import { RunEventsConsumer } from '../consumers/run-events.consumer';
import { AgentsGateway } from '../gateway/agents.gateway';
import { PlainWebSocketGateway } from '../gateway/plain-ws.gateway';

/**
 * The gateway is ready when Redis answers, both transports are served and the event stream is tailed. The database
 * (API keys of sockets, archived events) is reported but not required: sockets with tokens and live events need only
 * Redis, and the rest answers `database_unavailable` meanwhile.
 */
@Injectable()
export class ReadinessChecks implements OnModuleInit {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly redis: RedisHealth,
    private readonly database: DatabaseHealth,
    private readonly socketIo: AgentsGateway,
    private readonly plainWs: PlainWebSocketGateway,
    private readonly events: RunEventsConsumer,
  ) {}

  onModuleInit(): void {
    this.readiness.register('redis', () => this.redis.check());
    // Reported, not required: the database is shared by every replica, and this pod serves without it (see above).
    this.readiness.register(
      'database',
      async () => {
        const result = await this.database.check();
        if (await this.database.hasPendingMigrations()) throw new Error('schema not migrated yet (agent-api migrates it)');
        return result;
      },
      { required: false },
    );
    this.readiness.register('socket_io', async () => {
      if (!this.socketIo.attached) throw new Error('socket.io server not initialised');
    });
    this.readiness.register('websocket', async () => {
      if (!this.plainWs.attached) throw new Error('/ws not attached to the HTTP server');
    });
    this.readiness.register('event_stream', async () => {
      if (!this.events.running) throw new Error('event stream not tailed');
    });
  }
}
