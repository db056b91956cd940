import { Inject, Injectable } from '@nestjs/common';
import { SubscribeRequestV1, UnsubscribeRequestV1, splitEventId } from '@skreaver/contracts';
import type { AckV1, WsErrorV1 } from '@skreaver/contracts';
import { JsonLogger } from '@skreaver/observability';
import type { ZodError } from 'zod';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import { DependencyUnavailableError } from './dependency-unavailable.error';
import { EventFrame } from './event-frame';
import { EventReplay } from './event-replay';
import type { LiveSession } from './live-session';
import { roomOf } from './rooms';
import type { SubscriptionTarget } from './rooms';
import { Subscription } from './subscription';
import { SubscriptionRegistry } from './subscription-registry';

type ResumePoint = { afterSeq: number } | { afterEntryId: string };

/** Subscribes sessions to agents, runs and topics of their tenant, resuming after a given event when asked. */
@Injectable()
export class SubscriptionsService {
  constructor(
    private readonly registry: SubscriptionRegistry,
    private readonly replay: EventReplay,
    private readonly logger: JsonLogger,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  /**
   * Subscribes `session` to the target of `payload` (`SubscribeRequestV1`) in its tenant. With `after`, the events
   * after that one are sent first and the ack comes once they have been: every later event is live, none twice.
   * Subscribing again with `after` restarts the subscription from there; without, it is a no-op.
   */
  async subscribe(session: LiveSession, payload: unknown): Promise<AckV1> {
    try {
      return await this.subscribeOnce(session, payload);
    } finally {
      // The connection's first subscription answered (replay included) ends its handshake (WEBSOCKET_MAX_PENDING_HANDSHAKES).
      session.handshakeDone();
    }
  }

  private async subscribeOnce(session: LiveSession, payload: unknown): Promise<AckV1> {
    const request = SubscribeRequestV1.safeParse(payload);
    if (!request.success) return failure(invalid(request.error));
    const tenantId = session.principal.tenant_id;
    const target = targetOf(request.data);
    const room = roomOf(tenantId, target);
    const after = 'after' in request.data ? request.data.after : undefined;
    const existing = this.registry.of(session).get(room);
    if (existing && after === undefined) return { ok: true, room };
    if (!existing && this.registry.of(session).size >= this.config.WS_MAX_SUBSCRIPTIONS) {
      return failure(this.tooMany());
    }
    let resume: ResumePoint | undefined;
    try {
      resume = after === undefined ? undefined : await this.resumePoint(tenantId, target, after);
    } catch (error) {
      return failure(this.unavailable(error));
    }
    if (after !== undefined && !resume) {
      return failure({
        code: 'replay_unavailable',
        message: `event ${after} is not in the event stream (any more): read the runs over the REST API, then subscribe without after`,
      });
    }
    if (!session.open) return failure({ code: 'internal_error', message: 'the connection is closing' });
    // Looked up again: another subscribe to the same room may have completed while the resume point was found.
    const previous = this.registry.of(session).get(room);
    if (previous) this.registry.remove(previous);
    else if (this.registry.of(session).size >= this.config.WS_MAX_SUBSCRIPTIONS) return failure(this.tooMany());
    const subscription = new Subscription(session, room, target);
    if (resume) {
      // Held back before the replay starts reading: whatever the log gains from here on also arrives live.
      subscription.holdLive();
      subscription.resumeAfter(resume);
    }
    this.registry.add(subscription);
    if (!resume) return { ok: true, room };
    try {
      const replayed = await this.catchUp(subscription, tenantId, resume);
      return { ok: true, room, replayed };
    } catch (error) {
      this.registry.remove(subscription);
      return failure(this.unavailable(error));
    }
  }

  /** Ends the subscription to the target of `payload` (`UnsubscribeRequestV1`); unknown targets are acknowledged too. */
  unsubscribe(session: LiveSession, payload: unknown): AckV1 {
    const request = UnsubscribeRequestV1.safeParse(payload);
    if (!request.success) return failure(invalid(request.error));
    const room = roomOf(session.principal.tenant_id, targetOf(request.data));
    const subscription = this.registry.of(session).get(room);
    if (subscription) this.registry.remove(subscription);
    return { ok: true, room };
  }

  private async resumePoint(tenantId: string, target: SubscriptionTarget, after: string): Promise<ResumePoint | undefined> {
    if (target.kind === 'run') {
      // The contract already checked that `after` is an event of this run.
      const seq = splitEventId(after)?.seq;
      return seq === undefined ? undefined : { afterSeq: seq };
    }
    const entryId = await this.replay.locate(tenantId, after);
    return entryId === null ? undefined : { afterEntryId: entryId };
  }

  /**
   * Sends what the log holds after the resume point, then the live entries held back meanwhile that the replay
   * did not already cover, and switches to live delivery with no await in between.
   * @returns how many events were sent.
   */
  private async catchUp(subscription: Subscription, tenantId: string, resume: ResumePoint): Promise<number> {
    const { session, target } = subscription;
    let sent = 0;
    const send = async (frame: EventFrame): Promise<boolean> => {
      if (subscription.closed || !(await session.deliverPaced(frame))) return false;
      sent += 1;
      return true;
    };
    if ('afterSeq' in resume && target.kind === 'run') {
      for await (const page of this.replay.runAfter(tenantId, target.id, resume.afterSeq)) {
        for (const event of page) if (subscription.advance(event) && !(await send(new EventFrame(event)))) return sent;
      }
    } else if ('afterEntryId' in resume && target.kind === 'agent') {
      for await (const page of this.replay.globalAfter(resume.afterEntryId)) {
        for (const { id, event, frame } of page) {
          // The cursor moves past every entry read, so a late live copy of any of them is skipped.
          if (!subscription.advance(event, id)) continue;
          if (event.tenant_id !== tenantId || event.agent_id !== target.id) continue;
          if (!(await send(frame))) return sent;
        }
      }
    }
    for (let held = subscription.takeHeld(); held.length > 0; held = subscription.takeHeld()) {
      for (const entry of held) if (subscription.advance(entry.event, entry.id) && !(await send(entry.frame))) return sent;
    }
    subscription.goLive();
    return sent;
  }

  private tooMany(): WsErrorV1 {
    return { code: 'too_many_subscriptions', message: `at most ${this.config.WS_MAX_SUBSCRIPTIONS} subscriptions per connection` };
  }

  private unavailable(error: unknown): WsErrorV1 {
    if (error instanceof DependencyUnavailableError) return { code: error.code, message: error.message };
    this.logger.write('error', 'Subscription failed', { error: String(error) }, 'ws');
    return { code: 'internal_error', message: 'the subscription failed' };
  }
}

function targetOf(request: SubscribeRequestV1 | UnsubscribeRequestV1): SubscriptionTarget {
  if ('agent_id' in request) return { kind: 'agent', id: request.agent_id };
  if ('run_id' in request) return { kind: 'run', id: request.run_id };
  return { kind: 'topic', name: request.topic };
}

function invalid(error: ZodError): WsErrorV1 {
  const detail = error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
  return {
    code: 'validation_failed',
    message: `expected exactly one of {"agent_id": uuid, "after"?}, {"run_id": uuid, "after"?} or {"topic": name}: ${detail}`,
  };
}

function failure(error: WsErrorV1): AckV1 {
  return { ok: false, error };
}
