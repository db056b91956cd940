import { Module } from '@nestjs/common';
import { MessagingModule } from '@skreaver/messaging';
import { PersistenceModule } from '@skreaver/persistence';

import { MeshTopicsConsumer } from '../consumers/mesh-topics.consumer';
import { RunEventsConsumer } from '../consumers/run-events.consumer';
import { EventReplay } from './event-replay';
import { LiveEventsService } from './live-events.service';
import { LiveSessions } from './live-sessions.service';
import { RecentEntries } from './recent-entries';
import { RecentEventIndex } from './recent-event-index';
import { SubscriptionRegistry } from './subscription-registry';
import { SubscriptionsService } from './subscriptions.service';
import { WebsocketMetrics } from './websocket-metrics';

/** Live events, independent of the transport: sessions, subscriptions, replay, and the tail of the global stream. */
@Module({
  imports: [MessagingModule, PersistenceModule],
  providers: [
    EventReplay,
    LiveEventsService,
    LiveSessions,
    RecentEntries,
    RecentEventIndex,
    RunEventsConsumer,
    MeshTopicsConsumer,
    SubscriptionRegistry,
    SubscriptionsService,
    WebsocketMetrics,
  ],
  exports: [LiveSessions, RunEventsConsumer, SubscriptionsService, WebsocketMetrics],
})
export class LiveModule {}
