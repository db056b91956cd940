import { Injectable } from '@nestjs/common';
import { SubscribeRequestV1 } from '@skreaver/contracts';
import type { AckV1 } from '@skreaver/contracts';
import type { Socket } from 'socket.io';

import { roomFor } from './rooms';
import { WebsocketMetrics } from './websocket-metrics';

/** Joins and leaves subscription rooms after validating the request against the contract. */
@Injectable()
export class SubscriptionsService {
  constructor(private readonly metrics: WebsocketMetrics) {}

  async subscribe(socket: Socket, payload: unknown): Promise<AckV1> {
    const request = SubscribeRequestV1.safeParse(payload);
    if (!request.success) return invalid(request.error.issues.map((i) => i.message).join('; '));
    const room = roomFor(request.data);
    if (!socket.rooms.has(room)) {
      await socket.join(room);
      this.metrics.subscriptions.inc();
    }
    return { ok: true, room };
  }

  async unsubscribe(socket: Socket, payload: unknown): Promise<AckV1> {
    const request = SubscribeRequestV1.safeParse(payload);
    if (!request.success) return invalid(request.error.issues.map((i) => i.message).join('; '));
    const room = roomFor(request.data);
    if (socket.rooms.has(room)) {
      await socket.leave(room);
      this.metrics.subscriptions.dec();
    }
    return { ok: true, room };
  }

  /** Subscriptions a closing socket held (its own id room excluded). */
  dropped(roomCount: number): void {
    if (roomCount > 0) this.metrics.subscriptions.dec(roomCount);
  }
}

function invalid(message: string): AckV1 {
  return { ok: false, error: { code: 'validation_failed', message: `expected {"agent_id": uuid} or {"run_id": uuid}: ${message}` } };
}
