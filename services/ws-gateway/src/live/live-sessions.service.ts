import { randomUUID } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import type { AuthRevocationV1, Principal, ReconnectHintV1 } from '@skreaver/contracts';
import { JsonLogger } from '@skreaver/observability';
import { sleep } from '@skreaver/util';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import type { Admission } from '../connections/connection-admission.service';
import { LiveSession } from './live-session';
import type { SessionTransport } from './live-session';
import { SubscriptionRegistry } from './subscription-registry';
import { WebsocketMetrics } from './websocket-metrics';

// Reconnect hints ask clients to wait a random delay below this, so one replica's clients do not all land at once.
const RECONNECT_SPREAD_MS = 2_000;

/** The open sessions of this replica: opened by the transports, closed with their subscriptions and slots. */
@Injectable()
export class LiveSessions {
  private readonly sessions = new Set<LiveSession>();

  constructor(
    private readonly registry: SubscriptionRegistry,
    private readonly metrics: WebsocketMetrics,
    private readonly logger: JsonLogger,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Starts a session for an admitted connection; it ends itself when its credential expires. */
  open(transport: SessionTransport, admission: Admission): LiveSession {
    const session = new LiveSession(randomUUID(), admission.principal, admission.address, transport, {
      maxBufferedBytes: this.config.WS_MAX_BUFFERED_BYTES,
      metrics: this.metrics,
      release: admission.release,
      handshakeDone: admission.handshakeDone,
      onCutOff: (cut) =>
        this.logger.write(
          'warn',
          'Disconnected a slow consumer',
          { subject: cut.principal.subject, address: cut.address, transport: cut.kind, max_buffered_bytes: this.config.WS_MAX_BUFFERED_BYTES },
          'ws',
        ),
    });
    this.sessions.add(session);
    this.metrics.total.inc();
    this.metrics.active.inc();
    // An expired token must stop receiving events as it stops working on agent-api.
    if (admission.principal.expires_at !== undefined) session.expireAt(admission.principal.expires_at);
    return session;
  }

  /** Forgets a session whose connection has ended: its subscriptions and its connection slot. Idempotent. */
  closed(session: LiveSession): void {
    if (!session.markClosed()) return;
    for (const subscription of [...this.registry.of(session).values()]) this.registry.remove(subscription);
    this.sessions.delete(session);
    this.metrics.active.dec();
  }

  /** Closes the open sessions whose credential `revocation` revoked, with `unauthorized` / `revoked`; how many. */
  closeRevoked(revocation: AuthRevocationV1): number {
    let closed = 0;
    for (const session of this.sessions) {
      if (!session.open || !revokes(revocation, session.principal)) continue;
      session.closeWithError({ code: 'unauthorized', reason: 'revoked', message: 'the credential has been revoked; reconnect with a valid one' });
      closed += 1;
    }
    return closed;
  }

  /**
   * Graceful shutdown: asks every client to reconnect (another replica takes it, and its `after` resumes the
   * stream), waits up to `graceMs` for the connections to close, then cuts the rest.
   */
  async drain(graceMs: number): Promise<void> {
    for (const session of this.sessions) session.closeForRestart(reconnectHint());
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await sleep(20);
    for (const session of this.sessions) session.terminate();
  }
}

/** Whether `revocation` covers the credential `principal` authenticated with. */
function revokes(revocation: AuthRevocationV1, principal: Principal): boolean {
  if (revocation.tenant_id !== principal.tenant_id) return false;
  switch (revocation.kind) {
    case 'token':
      return principal.token_id === revocation.token_id;
    case 'subject':
      // The API key itself and every token minted from it share the subject `key:<prefix>`.
      return principal.subject === revocation.subject;
    case 'tenant':
      // "Revoke all" cuts off the tenant's tokens issued until now, which every connected token was; keys stay valid.
      return principal.via === 'jwt';
  }
}

function reconnectHint(): ReconnectHintV1 {
  return {
    reason: 'shutting_down',
    message: 'this gateway replica is shutting down: reconnect and subscribe again with after=<last event id>',
    retry_after_ms: Math.floor(Math.random() * RECONNECT_SPREAD_MS),
  };
}
