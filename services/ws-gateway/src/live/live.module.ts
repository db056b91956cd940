import { Module } from '@nestjs/common';

import { RunEventsConsumer } from '../consumers/run-events.consumer';
import { AgentsGateway } from '../gateway/agents.gateway';
import { LiveEventsService } from './live-events.service';
import { SubscriptionsService } from './subscriptions.service';
import { WebsocketMetrics } from './websocket-metrics';

@Module({
  providers: [AgentsGateway, LiveEventsService, SubscriptionsService, WebsocketMetrics, RunEventsConsumer],
  exports: [LiveEventsService, RunEventsConsumer],
})
export class LiveModule {}
