import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { Streams } from '@skreaver/contracts';
import { RedisConnections, StreamTailer } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import { LiveEventsService } from '../live/live-events.service';

/** Tails the global event stream (every replica reads all of it) and hands each batch to the live service. */
@Injectable()
export class RunEventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private tailer: StreamTailer<typeof Streams.events> | undefined;
  private positioned = false;

  constructor(
    private readonly live: LiveEventsService,
    private readonly connections: RedisConnections,
    private readonly logger: JsonLogger,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  /** True once the tailer has pinned its position in the stream: from then on no event is missed. */
  get running(): boolean {
    return this.positioned;
  }

  onApplicationBootstrap(): void {
    this.tailer = new StreamTailer({
      redis: this.connections.blocking('events-tailer'),
      keyPrefix: this.config.REDIS_KEY_PREFIX,
      stream: Streams.events,
      onEntries: (entries) => this.live.publish(entries),
      onInvalid: (entryId, error) =>
        this.logger.write('warn', 'Skipped an event that does not match its contract', { entry_id: entryId, error: String(error) }, 'events'),
      onError: (error) => this.logger.write('warn', 'Event stream read failed; retrying', { error: String(error) }, 'events'),
    });
    // Not awaited: with Redis down at boot the HTTP server still starts, and /ready says what is missing.
    void this.tailer.start().then(() => {
      this.positioned = true;
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.positioned = false;
    await this.tailer?.stop();
  }
}
