import { Injectable } from '@nestjs/common';
import { counter, gauge } from '@skreaver/observability';

/** The runbook's WebSocket metrics. */
@Injectable()
export class WebsocketMetrics {
  readonly active = gauge({ name: 'websocket_connections_active', help: 'Open client connections on this replica' });
  readonly total = counter({ name: 'websocket_connections_total', help: 'Client connections accepted' });
  readonly failed = counter({
    name: 'websocket_connections_failed_total',
    help: 'Client connections refused or dropped, by reason',
    labelNames: ['reason'],
  });
  readonly sent = counter({ name: 'websocket_messages_sent_total', help: 'Messages pushed to clients' });
  readonly received = counter({ name: 'websocket_messages_received_total', help: 'Messages received from clients' });
  readonly subscriptions = gauge({ name: 'websocket_subscriptions_active', help: 'Active subscriptions on this replica' });
}
