import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { RedisHealth } from '@skreaver/messaging';
import { ReadinessService } from '@skreaver/observability';

import { RunEventsConsumer } from '../consumers/run-events.consumer';
import { LiveEventsService } from '../live/live-events.service';

/** The gateway is ready when Redis answers, the socket.io server is up and the event stream is being tailed. */
@Injectable()
export class ReadinessChecks implements OnModuleInit {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly redis: RedisHealth,
    private readonly live: LiveEventsService,
    private readonly events: RunEventsConsumer,
  ) {}

  onModuleInit(): void {
    this.readiness.register('redis', () => this.redis.check());
    this.readiness.register('socket_io', async () => {
      if (!this.live.attached) throw new Error('socket.io server not initialised');
    });
    this.readiness.register('event_stream', async () => {
      if (!this.events.running) throw new Error('event stream not tailed');
    });
  }
}
