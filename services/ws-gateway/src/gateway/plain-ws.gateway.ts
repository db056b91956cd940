import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';

import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WS_PATH } from '@skreaver/contracts';
import type { WsErrorV1 } from '@skreaver/contracts';
import { JsonLogger } from '@skreaver/observability';
import { nowIso } from '@skreaver/util';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import { ConnectionAdmission } from '../connections/connection-admission.service';
import type { Admission } from '../connections/connection-admission.service';
import { ConnectionRefusedError } from '../connections/connection-refused.error';
import type { LiveSession } from '../live/live-session';
import { LiveSessions } from '../live/live-sessions.service';
import { SubscriptionsService } from '../live/subscriptions.service';
import { WebsocketMetrics } from '../live/websocket-metrics';
import { transportMessageCap } from './message-limits';
import { parseClientFrame } from './plain-ws-frame.parser';
import { PlainWsTransport } from './plain-ws.transport';

/** A `/ws` connection: its session, its transport and its heartbeat state. */
interface Peer {
  session: LiveSession;
  transport: PlainWsTransport;
  awaitingPong: boolean;
  missedPongs: number;
}

// Two pings in a row without a pong: the client (or the network path to it) is gone.
const MAX_MISSED_PONGS = 2;

/**
 * Plain WebSocket at `/ws`, on the HTTP server socket.io also uses, speaking the same JSON protocol. It
 * authenticates before completing the upgrade, then tells a refused client why with an error frame and a close
 * code (4401 unauthorized, 4429 too many connections from one address, 1013 try again later, 1012 restarting).
 */
@Injectable()
export class PlainWebSocketGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server: WebSocketServer | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly peers = new Map<WebSocket, Peer>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly admission: ConnectionAdmission,
    private readonly sessions: LiveSessions,
    private readonly subscriptions: SubscriptionsService,
    private readonly metrics: WebsocketMetrics,
    private readonly logger: JsonLogger,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {}

  /** Whether `/ws` is served (readiness). */
  get attached(): boolean {
    return this.server !== undefined;
  }

  onApplicationBootstrap(): void {
    const httpServer: HttpServer = this.adapterHost.httpAdapter.getHttpServer();
    // The library's own limit only stops absurd frames; WS_MAX_MESSAGE_BYTES is enforced per frame below, so a
    // client is answered `message_too_large` instead of being disconnected.
    this.server = new WebSocketServer({ noServer: true, maxPayload: transportMessageCap(this.config.WS_MAX_MESSAGE_BYTES), perMessageDeflate: false });
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    this.heartbeat = setInterval(() => this.beat(), this.config.WS_PING_INTERVAL_MS);
    this.heartbeat.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.heartbeat);
    this.server?.close();
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path === WS_PATH) {
      void this.accept(request, socket, head);
      return;
    }
    // engine.io serves /socket.io/ and, with destroyUpgrade off, leaves every other upgrade to us.
    if (!path?.startsWith('/socket.io/')) socket.destroy();
  }

  private async accept(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client resetting the connection mid-handshake must not become an unhandled error.
    socket.on('error', () => socket.destroy());
    let admission: Admission | undefined;
    let refusal: WsErrorV1 = { code: 'internal_error', message: 'the connection failed' };
    try {
      admission = await this.admission.admit({ remoteAddress: request.socket.remoteAddress, headers: request.headers, queryToken: queryToken(request.url) });
      // Gives the slot back however the connection ends, even when the upgrade itself fails.
      socket.once('close', admission.release);
    } catch (error) {
      if (error instanceof ConnectionRefusedError) refusal = error.error;
      else this.logger.write('error', 'WebSocket admission failed', { error: String(error) }, 'ws');
    }
    const server = this.server;
    if (socket.destroyed || !server) {
      admission?.release();
      return;
    }
    server.handleUpgrade(request, socket, head, (ws) => {
      const transport = new PlainWsTransport(ws);
      if (admission) this.open(ws, transport, admission);
      else {
        transport.closeWithError(refusal);
        this.metrics.sent.inc();
      }
    });
  }

  private open(ws: WebSocket, transport: PlainWsTransport, admission: Admission): void {
    const session = this.sessions.open(transport, admission);
    const peer: Peer = { session, transport, awaitingPong: false, missedPongs: 0 };
    this.peers.set(ws, peer);
    ws.on('pong', () => {
      peer.awaitingPong = false;
      peer.missedPongs = 0;
    });
    ws.on('message', (data) => void this.onMessage(peer, data));
    ws.on('error', (error) => this.logger.write('debug', 'WebSocket error', { error: error.message }, 'ws'));
    ws.once('close', () => {
      this.peers.delete(ws);
      this.sessions.closed(session);
    });
  }

  private async onMessage(peer: Peer, data: RawData): Promise<void> {
    this.metrics.received.inc();
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data));
    const frame = parseClientFrame(buffer.toString('utf8'), buffer.byteLength, this.config.WS_MAX_MESSAGE_BYTES);
    const id = frame.id === undefined ? {} : { id: frame.id };
    if (!frame.ok) return this.reply(peer, () => peer.transport.send({ type: 'error', ...id, ...frame.error }));
    switch (frame.type) {
      case 'subscribe': {
        const ack = await this.subscriptions.subscribe(peer.session, frame.body);
        return this.reply(peer, () => peer.transport.send({ type: 'ack', ...id, ...ack }));
      }
      case 'unsubscribe': {
        const ack = this.subscriptions.unsubscribe(peer.session, frame.body);
        return this.reply(peer, () => peer.transport.send({ type: 'ack', ...id, ...ack }));
      }
      case 'ping':
        return this.reply(peer, () => peer.transport.send({ type: 'pong', ...id, ts: nowIso() }));
    }
  }

  private reply(peer: Peer, send: () => void): void {
    if (!peer.session.open) return;
    send();
    this.metrics.sent.inc();
  }

  /** Protocol-level ping to every `/ws` client; one that missed two in a row is dropped. */
  private beat(): void {
    for (const [ws, peer] of this.peers) {
      if (peer.awaitingPong) {
        peer.missedPongs += 1;
        if (peer.missedPongs >= MAX_MISSED_PONGS) {
          this.metrics.failed.inc({ reason: 'heartbeat_timeout' });
          peer.session.terminate();
          continue;
        }
      }
      peer.awaitingPong = true;
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }
}

/** The `?token=` of an upgrade URL: undefined when absent, several values when repeated (refused as malformed). */
function queryToken(url: string | undefined): string | string[] | undefined {
  const values = new URLSearchParams((url ?? '').split('?')[1] ?? '').getAll('token');
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values;
}
