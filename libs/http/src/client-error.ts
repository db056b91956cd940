import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

import type { ApiErrorBody, ApiErrorCode } from '@skreaver/contracts';
import type { JsonLogger } from '@skreaver/observability';

/** The answer to a request Node's HTTP parser refused. */
export interface ClientErrorAnswer {
  status: number;
  code: ApiErrorCode;
  message: string;
}

// llhttp's codes for the framing mistakes worth naming; any other parse error is a plain malformed request.
const PARSE_ERRORS: Record<string, string> = {
  HPE_INVALID_METHOD: 'Unknown HTTP method',
  HPE_INVALID_CONTENT_LENGTH: 'Invalid Content-Length header',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'A request may not carry both Content-Length and Transfer-Encoding',
  HPE_INVALID_TRANSFER_ENCODING: 'Invalid Transfer-Encoding header',
  HPE_INVALID_CHUNK_SIZE: 'Malformed chunked body',
};

// How long a refused connection stays open to read (and drop) what the client is still sending, so that it can
// read the answer: closing a socket with unread data resets the connection, and a reset may discard the answer.
const LINGER_MS = 2_000;

/** What to answer a client error from Node's HTTP server, or null when there is nobody left to answer. */
export function clientErrorAnswer(error: Error & { code?: string }): ClientErrorAnswer | null {
  switch (error.code) {
    case 'ECONNRESET':
      return null;
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'header_too_large', message: 'Request headers are larger than the server accepts' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'The request did not arrive in time' };
    default:
      return { status: 400, code: 'bad_request', message: PARSE_ERRORS[error.code ?? ''] ?? 'Malformed HTTP request' };
  }
}

/** The request a connection is working on, so that an error the parser meets mid-body is answered under its id. */
export interface InFlightRequest {
  id: string;
  /** True once its response has started: nothing else may then be written to the socket. */
  responseStarted: () => boolean;
}

/** Where the request in flight on a connection is found (a WeakMap will do). */
export interface InFlightRequests {
  get(socket: Duplex): InFlightRequest | undefined;
}

/**
 * Fastify's `clientErrorHandler`: answers what Node's HTTP parser refuses (unknown methods, broken framing, oversized
 * headers), which never reaches a route, hook or exception filter, in the one error format with a request id — the
 * id of the request in flight on the connection if there is one, else a new one.
 */
export function createClientErrorHandler(
  logger: JsonLogger,
  inFlight: InFlightRequests,
): (error: Error & { code?: string }, socket: Duplex) => void {
  const answered = new WeakSet<Duplex>();
  return (error, socket) => {
    // A failed parser fails again on every later chunk of the same connection: one answer is enough.
    if (answered.has(socket) || socket.destroyed) return;
    answered.add(socket);
    const answer = clientErrorAnswer(error);
    const current = inFlight.get(socket);
    if (!answer || !socket.writable || current?.responseStarted()) {
      socket.destroy();
      return;
    }
    const requestId = current?.id ?? randomUUID();
    const body: ApiErrorBody = { error: answer.code, message: answer.message, request_id: requestId };
    const json = JSON.stringify(body);
    logger.write('info', 'Request refused by the HTTP parser', { status: answer.status, code: error.code, request_id: requestId }, 'http');
    socket.end(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(json)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        'connection: close\r\n\r\n' +
        json,
    );
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}
