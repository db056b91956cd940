import { Injectable } from '@nestjs/common';
import type { Streams } from '@skreaver/contracts';
import type { StreamEntry } from '@skreaver/messaging';

import { EventFrame } from './event-frame';
import type { LiveSession } from './live-session';
import { RecentEntries } from './recent-entries';
import { RecentEventIndex } from './recent-event-index';
import { roomsOfEvent } from './rooms';
import { SubscriptionRegistry } from './subscription-registry';
import { WebsocketMetrics } from './websocket-metrics';

/** Pushes each event of the global stream to the subscriptions of this replica it belongs to. */
@Injectable()
export class LiveEventsService {
  private batch = 0;

  constructor(
    private readonly registry: SubscriptionRegistry,
    private readonly index: RecentEventIndex,
    private readonly recent: RecentEntries,
    private readonly metrics: WebsocketMetrics,
  ) {}

  /** Delivers one batch of global-stream entries, in stream order. */
  publish(entries: readonly StreamEntry<typeof Streams.events>[]): void {
    this.batch += 1;
    for (const entry of entries) this.publishEntry(entry);
  }

  private publishEntry({ id, payload: event, jsonLength }: StreamEntry<typeof Streams.events>): void {
    this.index.remember(event.id, id, event.tenant_id);
    const entry = { id, event, frame: new EventFrame(event) };
    // Before any delivery: a subscription that resumes from here on finds it in the window or is offered it live.
    this.recent.append(entry, jsonLength);
    // One send per session even when several of its subscriptions (the agent's and the run's) match.
    const recipients = new Set<LiveSession>();
    for (const room of roomsOfEvent(event)) {
      for (const subscription of this.registry.in(room)) {
        const verdict = subscription.offer(entry);
        if (verdict === 'deliver') recipients.add(subscription.session);
        else if (verdict === 'overflow') subscription.session.cutOff();
      }
    }
    if (recipients.size === 0) return;
    for (const session of recipients) session.deliver(entry.frame, this.batch);
    this.metrics.delivery.observe(Math.max(0, Date.now() - Date.parse(event.ts)) / 1000);
  }
}
