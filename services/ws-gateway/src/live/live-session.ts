import type { MeshEnvelopeV1, Principal, ReconnectHintV1, WsErrorV1 } from '@skreaver/contracts';
import { sleep } from '@skreaver/util';

import type { EventFrame } from './event-frame';
import type { WebsocketMetrics } from './websocket-metrics';

/** What the live-event logic needs from a client connection, implemented once per transport (socket.io, `/ws`). */
export interface SessionTransport {
  readonly kind: 'socket.io' | 'ws';
  sendEvent(frame: EventFrame): void;
  /** A mesh message of a subscribed topic. */
  sendMesh(message: MeshEnvelopeV1): void;
  sendError(error: WsErrorV1): void;
  /** Bytes queued for the client and not yet handed to the network. */
  bufferedBytes(): number;
  /** Tells the client `error`, then closes once what is queued has been sent. */
  closeWithError(error: WsErrorV1): void;
  /** Sends the reconnect hint, then closes once what is queued has been sent. */
  closeForRestart(hint: ReconnectHintV1): void;
  /** Cuts the connection at once, dropping whatever is queued. */
  terminate(): void;
}

/** Options every session of a replica shares. */
export interface SessionOptions {
  maxBufferedBytes: number;
  metrics: WebsocketMetrics;
  /** Gives the connection's slot back; called once, when the session is closed. */
  release: () => void;
  /** Ends the connection's handshake (`WEBSOCKET_MAX_PENDING_HANDSHAKES`); idempotent. */
  handshakeDone: () => void;
  /** Told when the session is cut off as a slow consumer (for the log). */
  onCutOff?: (session: LiveSession) => void;
}

// setTimeout holds at most 2^31-1 ms (~24.8 days); credentials expiring later are left to reconnects.
const MAX_TIMER_MS = 2_147_483_647;

// A replay waits for the client to have read most of what it was sent before sending more.
const PACE_POLL_MS = 10;

/** One authenticated client connection, whatever its transport (its subscriptions are in `SubscriptionRegistry`). */
export class LiveSession {
  private state: 'open' | 'closing' | 'closed' = 'open';
  private checkedBatch = -1;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly principal: Principal,
    readonly address: string,
    private readonly transport: SessionTransport,
    private readonly options: SessionOptions,
  ) {}

  /** Open until the gateway starts closing it or the connection ends. */
  get open(): boolean {
    return this.state === 'open';
  }

  get kind(): SessionTransport['kind'] {
    return this.transport.kind;
  }

  /** Closes the session with `unauthorized` / `expired` at `expiresAt`, when its credential stops working. */
  expireAt(expiresAt: string): void {
    const inMs = Date.parse(expiresAt) - Date.now();
    if (!(inMs <= MAX_TIMER_MS)) return;
    this.expiryTimer = setTimeout(
      () => this.closeWithError({ code: 'unauthorized', reason: 'expired', message: 'the credential has expired; reconnect with a new one' }),
      Math.max(0, inMs),
    );
    this.expiryTimer.unref();
  }

  /**
   * Sends a live event of dispatch batch `batch`. A client that still holds more than the buffer limit from
   * earlier batches is cut off as a slow consumer instead; what one batch adds is not counted against it, because
   * the network gets no chance to drain while a batch is being dispatched.
   */
  deliver(frame: EventFrame, batch: number): void {
    if (!this.open) return;
    if (batch !== this.checkedBatch) {
      this.checkedBatch = batch;
      if (this.transport.bufferedBytes() > this.options.maxBufferedBytes) {
        this.cutOff();
        return;
      }
    }
    this.transport.sendEvent(frame);
    this.options.metrics.sent.inc();
  }

  /**
   * Sends a replayed event once the client has drained half its buffer limit, so a long replay is paced by the
   * client instead of piling up. A client that stops reading is dropped by the heartbeat.
   * @returns false when the session closed meanwhile.
   */
  async deliverPaced(frame: EventFrame): Promise<boolean> {
    while (this.open && this.transport.bufferedBytes() > this.options.maxBufferedBytes / 2) await sleep(PACE_POLL_MS);
    if (!this.open) return false;
    this.transport.sendEvent(frame);
    this.options.metrics.sent.inc();
    return true;
  }

  /** Sends a topic's mesh message; a client over its buffer limit is cut off like for events. */
  deliverMesh(message: MeshEnvelopeV1): void {
    if (!this.open) return;
    if (this.transport.bufferedBytes() > this.options.maxBufferedBytes) {
      this.cutOff();
      return;
    }
    this.transport.sendMesh(message);
    this.options.metrics.sent.inc();
  }

  sendError(error: WsErrorV1): void {
    if (!this.open) return;
    this.transport.sendError(error);
    this.options.metrics.sent.inc();
  }

  /** Drops a client that does not read its events, so its backlog stops growing (counted as `slow_consumer`). */
  cutOff(): void {
    if (!this.open) return;
    this.state = 'closing';
    this.options.metrics.failed.inc({ reason: 'slow_consumer' });
    this.options.onCutOff?.(this);
    this.transport.terminate();
  }

  /** Tells the client why, then closes (e.g. its token expired). */
  closeWithError(error: WsErrorV1): void {
    if (!this.open) return;
    this.state = 'closing';
    this.options.metrics.sent.inc();
    this.transport.closeWithError(error);
  }

  /** Asks the client to reconnect elsewhere and resume, then closes (graceful shutdown). */
  closeForRestart(hint: ReconnectHintV1): void {
    if (!this.open) return;
    this.state = 'closing';
    this.options.metrics.sent.inc();
    this.transport.closeForRestart(hint);
  }

  /** Cuts the connection without notice (shutdown grace over). */
  terminate(): void {
    if (this.state === 'closed') return;
    this.state = 'closing';
    this.transport.terminate();
  }

  /** Its first subscription has been answered: the connection no longer counts as opening. Idempotent. */
  handshakeDone(): void {
    this.options.handshakeDone();
  }

  /** Marks the connection as ended and gives its slot back; returns false when it already was. */
  markClosed(): boolean {
    if (this.state === 'closed') return false;
    this.state = 'closed';
    clearTimeout(this.expiryTimer);
    this.options.release();
    return true;
  }
}
