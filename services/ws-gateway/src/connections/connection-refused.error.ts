import type { WsErrorV1 } from '@skreaver/contracts';

/** A connection the gateway will not serve; each transport tells the client `error` in its own way. */
export class ConnectionRefusedError extends Error {
  constructor(readonly error: WsErrorV1) {
    super(error.message);
    this.name = 'ConnectionRefusedError';
  }
}
