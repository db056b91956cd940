import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { Streams } from '@skreaver/contracts';
import { RedisConnections, StreamTailer } from '@skreaver/messaging';
import type { StreamEntry } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import type { LiveSession } from '../live/live-session';
import { roomOf } from '../live/rooms';
import { SubscriptionRegistry } from '../live/subscription-registry';

/**
 * Tails the mesh stream (every replica reads all of it, like the event stream) and sends each topic message to this
 * replica's sockets subscribed to the topic in the message's tenant. Live only: a socket gets the messages published
 * while it is subscribed; unexpired-TTL and duplicate filtering is the coordinators' business for agents, sockets
 * see every publication.
 */
@Injectable()
export class MeshTopicsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private tailer: StreamTailer<typeof Streams.meshMessages> | undefined;

  constructor(
    private readonly registry: SubscriptionRegistry,
    private readonly connections: RedisConnections,
    private readonly logger: JsonLogger,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.tailer = new StreamTailer({
      redis: this.connections.blocking('mesh-tailer'),
      keyPrefix: this.config.REDIS_KEY_PREFIX,
      stream: Streams.meshMessages,
      onEntries: (entries) => this.publish(entries),
      onInvalid: (entryId, error) =>
        this.logger.write('warn', 'Skipped a mesh message that does not match its contract', { entry_id: entryId, error: String(error) }, 'mesh'),
      onError: (error) => this.logger.write('warn', 'Mesh stream read failed; retrying', { error: String(error) }, 'mesh'),
    });
    void this.tailer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.tailer?.stop();
  }

  publish(entries: readonly StreamEntry<typeof Streams.meshMessages>[]): void {
    for (const { payload: message } of entries) {
      if (!('topic' in message)) continue;
      // The room carries the tenant: a message never reaches another tenant's sockets, whatever topic they chose.
      const recipients = new Set<LiveSession>();
      for (const subscription of this.registry.in(roomOf(message.tenant_id, { kind: 'topic', name: message.topic }))) recipients.add(subscription.session);
      for (const session of recipients) session.deliverMesh(message);
    }
  }
}
