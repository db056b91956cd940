import { Injectable } from '@nestjs/common';
import { AGENTS_NAMESPACE } from '@skreaver/contracts';
import type { ClientToServerEvents, ServerToClientEvents, WsErrorV1 } from '@skreaver/contracts';
import type { Namespace } from 'socket.io';

import { ConnectionAdmission } from '../connections/connection-admission.service';
import type { Admission, Reservation } from '../connections/connection-admission.service';
import { ConnectionRefusedError } from '../connections/connection-refused.error';
import type { AgentsSocket, AgentsSocketData } from './socket-io.transport';

export type AgentsNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, AgentsSocketData>;

type EngineConnection = AgentsSocket['conn'];

/** What the gateway decided about an engine.io connection when it opened. */
type EngineAdmission =
  | { admitted: true; reservation: Reservation; /** Whether an `/agents` socket is (being) joined on it. */ joined: boolean }
  | { admitted: false; refusal: WsErrorV1 };

// A refused engine connection lives just long enough for a socket.io client to send its CONNECT and read why it was
// refused (a connect_error with the code, as for any other refusal); one that asks nothing is cut after this.
const REFUSED_GRACE_MS = 2_000;

/**
 * Admission of socket.io connections, applied to the engine.io connection itself, before any namespace is joined:
 * each engine connection takes its slot (draining, replica and per-address limits) when it opens and gives it back
 * when it closes, carries at most one `/agents` socket, and that socket is authenticated before it joins. The root
 * namespace `/` is refused (socket.io refuses unknown namespaces itself), so no namespace can be joined without a
 * slot and a credential. The credential is checked on the `/agents` CONNECT, not the engine handshake, because
 * socket.io clients send `auth.token` in that packet.
 */
@Injectable()
export class SocketIoAdmission {
  private readonly engines = new WeakMap<EngineConnection, EngineAdmission>();

  constructor(private readonly admission: ConnectionAdmission) {}

  /** Installs admission on the server of `agents`: engine connections, the root namespace, and `agents` itself. */
  attach(agents: AgentsNamespace): void {
    // socket.io's own listener (registered when the server was created) runs first; packets only come later.
    agents.server.engine.on('connection', (conn: EngineConnection) => this.onEngineConnection(conn));
    // A refused join reaches the client as `connect_error`: `err.message` is the code, `err.data` the error.
    agents.server.of('/').use((socket, next) => next(connectError(this.refuseRoot(socket.conn))));
    agents.use((socket, next) => {
      this.admitAgentsSocket(socket).then(
        (admission) => {
          socket.data.admission = admission;
          next();
        },
        (error: unknown) => next(connectError(error)),
      );
    });
  }

  private onEngineConnection(conn: EngineConnection): void {
    try {
      const reservation = this.admission.reserve({ remoteAddress: conn.remoteAddress, headers: conn.request.headers });
      this.engines.set(conn, { admitted: true, reservation, joined: false });
      conn.once('close', reservation.release);
    } catch (error) {
      const refusal: WsErrorV1 = error instanceof ConnectionRefusedError ? error.error : { code: 'internal_error', message: 'the connection failed' };
      this.engines.set(conn, { admitted: false, refusal });
      const cut = setTimeout(() => conn.close(true), REFUSED_GRACE_MS);
      conn.once('close', () => clearTimeout(cut));
    }
  }

  private refuseRoot(conn: EngineConnection): ConnectionRefusedError {
    const state = this.engines.get(conn);
    if (state && !state.admitted) {
      this.closeAfterRefusal(conn);
      return new ConnectionRefusedError(state.refusal);
    }
    const address = state?.reservation.address ?? this.admission.addressOf({ remoteAddress: conn.remoteAddress, headers: conn.request.headers });
    // A client already served on /agents keeps its connection; any other has nothing left to do on it.
    if (!state?.joined) this.closeAfterRefusal(conn);
    return this.admission.refuse(address, { code: 'invalid_namespace', message: `only the ${AGENTS_NAMESPACE} namespace is served` });
  }

  /**
   * Admits a socket joining `/agents`: its engine connection must hold a slot and no other `/agents` socket, and its
   * credential must pass. Its `release` frees the engine connection for another `/agents` socket; the slot itself
   * is given back when the engine connection closes.
   * @throws ConnectionRefusedError
   */
  private async admitAgentsSocket(socket: AgentsSocket): Promise<Admission> {
    const conn = socket.conn;
    const state = this.engines.get(conn);
    if (!state || !state.admitted) {
      this.closeAfterRefusal(conn);
      throw new ConnectionRefusedError(state?.refusal ?? { code: 'internal_error', message: 'the connection failed' });
    }
    const { address } = state.reservation;
    // socket.io clients never join a namespace twice on one connection; a second socket would be a free connection.
    if (state.joined) throw this.admission.refuse(address, { code: 'too_many_connections', message: `one ${AGENTS_NAMESPACE} socket per connection` });
    state.joined = true;
    const { handshake } = socket;
    try {
      const principal = await this.admission.authenticate(address, { headers: handshake.headers, authToken: handshake.auth['token'], queryToken: handshake.query['token'] });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        state.joined = false;
      };
      return { principal, address, handshakeDone: state.reservation.handshakeDone, release };
    } catch (error) {
      state.joined = false;
      this.closeAfterRefusal(conn);
      throw error;
    }
  }

  /** Closes an engine connection once the refusal socket.io is about to send (on the next tick) has been written. */
  private closeAfterRefusal(conn: EngineConnection): void {
    setImmediate(() => conn.close());
    // A polling client that never comes back for the refusal must not keep the connection open.
    const cut = setTimeout(() => conn.close(true), REFUSED_GRACE_MS);
    conn.once('close', () => clearTimeout(cut));
  }
}

/** A refusal as socket.io's `connect_error`: the code as message, the `WsErrorV1` as data. */
function connectError(error: unknown): Error & { data: WsErrorV1 } {
  const data: WsErrorV1 = error instanceof ConnectionRefusedError ? error.error : { code: 'internal_error', message: 'the connection failed' };
  return Object.assign(new Error(data.code), { data });
}
