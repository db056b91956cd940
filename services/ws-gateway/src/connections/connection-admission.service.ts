import type { IncomingHttpHeaders } from 'node:http';

import { Inject, Injectable } from '@nestjs/common';
import { AuthError, AuthUnavailableError, Authenticator } from '@skreaver/auth';
import type { Principal, WsErrorV1 } from '@skreaver/contracts';
import { JsonLogger } from '@skreaver/observability';
import { isDatabaseUnavailable } from '@skreaver/persistence';

import { connectionCredentials } from '../auth/connection-credentials';
import type { ConnectionCredentialSources } from '../auth/connection-credentials';
import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';
import { WebsocketMetrics } from '../live/websocket-metrics';
import { clientAddress } from './client-address';
import { ConnectionLimits } from './connection-limits';
import { ConnectionRefusedError } from './connection-refused.error';
import { PendingHandshakes } from './pending-handshakes';

// A handshake still unfinished after this stops counting against WEBSOCKET_MAX_PENDING_HANDSHAKES (see PendingHandshakes).
const HANDSHAKE_HOLD_MS = 10_000;

/** Where a connection comes from: the peer and the headers of its HTTP request (for X-Forwarded-For). */
export interface ConnectionOrigin {
  remoteAddress: string | undefined;
  headers: IncomingHttpHeaders;
}

/** A connection request, whatever its transport. */
export interface ConnectionRequest extends ConnectionOrigin, ConnectionCredentialSources {}

/** A connection slot, held from before authentication until the connection closes. */
export interface Reservation {
  address: string;
  /** Ends the connection's handshake: its first subscription has been answered. Idempotent. */
  handshakeDone: () => void;
  /** Gives back the slot and ends the handshake. Idempotent. */
  release: () => void;
}

/** An admitted connection: who it is, where from, and the slot to give back when it closes. */
export interface Admission {
  principal: Principal;
  address: string;
  /** Ends the connection's handshake: its first subscription has been answered. Idempotent. */
  handshakeDone: () => void;
  /** Idempotent. */
  release: () => void;
}

/**
 * Decides whether a connection may open: not draining, under the replica's handshakes in progress and its
 * connection and per-address limits, and authenticated.
 */
@Injectable()
export class ConnectionAdmission {
  private readonly limits: ConnectionLimits;
  private readonly handshakes: PendingHandshakes;
  private accepting = true;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly metrics: WebsocketMetrics,
    private readonly logger: JsonLogger,
    @Inject(WS_GATEWAY_CONFIG) private readonly config: WsGatewayConfig,
  ) {
    this.limits = new ConnectionLimits({ maxConnections: config.WEBSOCKET_MAX_CONNECTIONS, maxPerAddress: config.WS_MAX_CONNECTIONS_PER_IP });
    this.handshakes = new PendingHandshakes(config.WEBSOCKET_MAX_PENDING_HANDSHAKES, HANDSHAKE_HOLD_MS);
  }

  /** From now on every connection is refused with `shutting_down` (graceful shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /**
   * Admits a connection in one step: reserves its slot, then authenticates it, giving the slot back if refused.
   * @throws ConnectionRefusedError with the code the client is told (and counted under).
   */
  async admit(request: ConnectionRequest): Promise<Admission> {
    const reservation = this.reserve(request);
    try {
      return { ...reservation, principal: await this.authenticate(reservation.address, request) };
    } catch (error) {
      reservation.release();
      throw error;
    }
  }

  /**
   * Takes a connection slot and starts its handshake, before anything is authenticated, so that connections that
   * are still authenticating, or never will, count against the limits too.
   * @throws ConnectionRefusedError `shutting_down`, `overloaded`, `max_connections` or `too_many_connections`.
   */
  reserve(origin: ConnectionOrigin): Reservation {
    const address = this.addressOf(origin);
    if (!this.accepting) throw this.refuse(address, { code: 'shutting_down', message: 'this gateway replica is shutting down; reconnect' });
    const handshakeDone = this.handshakes.begin();
    if (!handshakeDone) {
      throw this.refuse(address, { code: 'overloaded', message: 'this gateway replica has too many connections opening at once; retry after a backoff' });
    }
    const slot = this.limits.acquire(address);
    if (!slot.ok) {
      handshakeDone();
      throw this.refuse(address, {
        code: slot.refusal,
        message:
          slot.refusal === 'max_connections'
            ? 'this gateway replica is at its connection limit; retry (another replica may take it)'
            : `too many connections from ${address}`,
      });
    }
    return {
      address,
      handshakeDone,
      release: () => {
        handshakeDone();
        slot.release();
      },
    };
  }

  /**
   * Authenticates the one credential a connection from `address` carries. Its slot is the caller's to release.
   * @throws ConnectionRefusedError `unauthorized` (with the reason), `redis_unavailable`, `database_unavailable`.
   */
  async authenticate(address: string, sources: ConnectionCredentialSources): Promise<Principal> {
    try {
      return await this.authenticator.authenticate(connectionCredentials(sources));
    } catch (error) {
      const refusal = toRefusal(error);
      if (refusal.code === 'internal_error') this.logger.write('error', 'Authentication failed unexpectedly', { error: String(error) }, 'ws');
      throw this.refuse(address, refusal);
    }
  }

  /** The address a connection counts against (the client's, behind `WS_TRUST_PROXY_HOPS` proxies). */
  addressOf(origin: ConnectionOrigin): string {
    return clientAddress(origin.remoteAddress, origin.headers['x-forwarded-for'], this.config.WS_TRUST_PROXY_HOPS);
  }

  /** Counts and logs a refusal; the error to tell the client with. */
  refuse(address: string, error: WsErrorV1): ConnectionRefusedError {
    this.metrics.failed.inc({ reason: error.code });
    this.logger.write(
      error.code === 'unauthorized' || error.code === 'shutting_down' || error.code === 'invalid_namespace' ? 'info' : 'warn',
      'Connection refused',
      { code: error.code, ...(error.reason ? { reason: error.reason } : {}), address },
      'ws',
    );
    return new ConnectionRefusedError(error);
  }
}

function toRefusal(error: unknown): WsErrorV1 {
  if (error instanceof AuthError) return { code: 'unauthorized', message: error.message, reason: error.reason };
  if (error instanceof AuthUnavailableError) {
    if (error.dependency === 'revocation_list') {
      return { code: 'redis_unavailable', message: 'tokens cannot be checked right now; retry later or use an API key' };
    }
    if (isDatabaseUnavailable(error.cause)) return { code: 'database_unavailable', message: 'API keys cannot be checked right now; retry later' };
  }
  return { code: 'internal_error', message: 'the credential could not be checked' };
}
