import { Injectable } from '@nestjs/common';

import type { Subscription } from './subscription';
import { WebsocketMetrics } from './websocket-metrics';

/** Every subscription of this replica, by room: what the event dispatcher looks up for each event. */
@Injectable()
export class SubscriptionRegistry {
  private readonly rooms = new Map<string, Set<Subscription>>();

  constructor(private readonly metrics: WebsocketMetrics) {}

  add(subscription: Subscription): void {
    let members = this.rooms.get(subscription.room);
    if (!members) {
      members = new Set();
      this.rooms.set(subscription.room, members);
    }
    members.add(subscription);
    subscription.session.subscriptions.set(subscription.room, subscription);
    this.metrics.subscriptions.inc();
  }

  /** Ends and forgets a subscription; a no-op for one already removed. */
  remove(subscription: Subscription): void {
    subscription.close();
    const members = this.rooms.get(subscription.room);
    if (!members?.delete(subscription)) return;
    if (members.size === 0) this.rooms.delete(subscription.room);
    if (subscription.session.subscriptions.get(subscription.room) === subscription) subscription.session.subscriptions.delete(subscription.room);
    this.metrics.subscriptions.dec();
  }

  /** The subscriptions of a room (empty when none). */
  in(room: string): ReadonlySet<Subscription> {
    return this.rooms.get(room) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<Subscription> = new Set();
