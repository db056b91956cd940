import { Injectable } from '@nestjs/common';

import type { LiveSession } from './live-session';
import type { Subscription } from './subscription';
import { WebsocketMetrics } from './websocket-metrics';

/**
 * Every subscription of this replica, by room (what the event dispatcher looks up for each event) and by session
 * (what a session's subscribe, unsubscribe and close look up).
 */
@Injectable()
export class SubscriptionRegistry {
  private readonly rooms = new Map<string, Set<Subscription>>();
  private readonly sessions = new Map<LiveSession, Map<string, Subscription>>();

  constructor(private readonly metrics: WebsocketMetrics) {}

  add(subscription: Subscription): void {
    let members = this.rooms.get(subscription.room);
    if (!members) {
      members = new Set();
      this.rooms.set(subscription.room, members);
    }
    members.add(subscription);
    let own = this.sessions.get(subscription.session);
    if (!own) {
      own = new Map();
      this.sessions.set(subscription.session, own);
    }
    own.set(subscription.room, subscription);
    this.metrics.subscriptions.inc();
  }

  /** Ends and forgets a subscription; a no-op for one already removed. */
  remove(subscription: Subscription): void {
    subscription.close();
    const members = this.rooms.get(subscription.room);
    if (!members?.delete(subscription)) return;
    if (members.size === 0) this.rooms.delete(subscription.room);
    const own = this.sessions.get(subscription.session);
    if (own?.get(subscription.room) === subscription) {
      own.delete(subscription.room);
      if (own.size === 0) this.sessions.delete(subscription.session);
    }
    this.metrics.subscriptions.dec();
  }

  /** The subscriptions of a session, by room (empty when none). */
  of(session: LiveSession): ReadonlyMap<string, Subscription> {
    return this.sessions.get(session) ?? NO_SUBSCRIPTIONS;
  }

  /** The subscriptions of a room (empty when none). */
  in(room: string): ReadonlySet<Subscription> {
    return this.rooms.get(room) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<Subscription> = new Set();
const NO_SUBSCRIPTIONS: ReadonlyMap<string, Subscription> = new Map();
