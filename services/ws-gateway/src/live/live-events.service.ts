import { Injectable } from '@nestjs/common';
import type { ClientToServerEvents, RunEventV1, ServerToClientEvents } from '@skreaver/contracts';
import type { Namespace } from 'socket.io';

import { agentRoom, runRoom } from './rooms';
import { WebsocketMetrics } from './websocket-metrics';

export type AgentsNamespace = Namespace<ClientToServerEvents, ServerToClientEvents>;

/** Pushes contract events to the sockets subscribed to them on this replica. */
@Injectable()
export class LiveEventsService {
  private namespace: AgentsNamespace | undefined;

  constructor(private readonly metrics: WebsocketMetrics) {}

  attach(namespace: AgentsNamespace): void {
    this.namespace = namespace;
  }

  get attached(): boolean {
    return this.namespace !== undefined;
  }

  publish(event: RunEventV1): void {
    const namespace = this.namespace;
    if (!namespace) return;
    const rooms = [agentRoom(event.agent_id), runRoom(event.run_id)];
    const recipients = this.recipients(namespace, rooms);
    if (recipients === 0) return;
    // One emit to the union of rooms: a socket in both rooms still gets the event once.
    namespace.to(rooms).emit('event', event);
    this.metrics.sent.inc(recipients);
  }

  private recipients(namespace: AgentsNamespace, rooms: string[]): number {
    const [first, second] = rooms.map((room) => namespace.adapter.rooms.get(room));
    if (!first || !second) return (first?.size ?? 0) + (second?.size ?? 0);
    const union = new Set(first);
    for (const id of second) union.add(id);
    return union.size;
  }
}
