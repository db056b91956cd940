import { Injectable } from '@nestjs/common';
import { counter, gauge, histogram } from '@skreaver/observability';

/** The runbook's WebSocket metrics, for socket.io and `/ws` together. */
@Injectable()
export class WebsocketMetrics {
  readonly active = gauge({ name: 'websocket_connections_active', help: 'Open, authenticated client connections on this replica' });
  readonly total = counter({ name: 'websocket_connections_total', help: 'Client connections accepted (authenticated)' });
  readonly failed = counter({
    name: 'websocket_connections_failed_total',
    help: 'Client connections refused (unauthorized, limits, shutting down) or dropped (slow consumer, heartbeat timeout), by reason',
    labelNames: ['reason'],
  });
  readonly sent = counter({ name: 'websocket_messages_sent_total', help: 'Messages pushed to clients (events, acks, errors, pongs)' });
  readonly received = counter({ name: 'websocket_messages_received_total', help: 'Messages received from clients' });
  readonly subscriptions = gauge({ name: 'websocket_subscriptions_active', help: 'Active subscriptions on this replica' });
  readonly delivery = histogram({
    name: 'websocket_event_delivery_seconds',
    help: 'From an event\'s timestamp to its live emit to subscribers on this replica',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
}
