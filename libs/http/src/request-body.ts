import type { Readable } from 'node:stream';

import { ApiError } from './api-error';

/** How `readRequestBody` bounds a body. */
export interface RequestBodyLimits {
  /** Largest accepted body in bytes; a larger one is refused with 413 `payload_too_large`. */
  limit: number;
  /**
   * How many bytes of a refused body are read and thrown away before answering. A client that writes its whole body
   * before reading (Node's fetch, most simple clients) gets the 413 only if the server reads what it sends: closing a
   * socket with unread data resets the connection, and the client sees EPIPE or ECONNRESET instead of the answer.
   * Beyond this, the 413 is sent at once and the connection closed.
   */
  drainLimit: number;
  /** The request's Content-Length, when it has one: a body announced beyond `drainLimit` is refused unread. */
  contentLength?: number;
}

/** The body of a request whose payload is still on the wire, as one Buffer; see `RequestBodyLimits`. */
export function readRequestBody(payload: Readable, limits: RequestBodyLimits): Promise<Buffer> {
  const tooLarge = () =>
    new ApiError(413, 'payload_too_large', `Request body is larger than ${limits.limit} bytes`, { max_bytes: limits.limit });
  if (limits.contentLength !== undefined && limits.contentLength > limits.drainLimit) return Promise.reject(tooLarge());

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > limits.drainLimit) {
        stop();
        // Left flowing: whatever still arrives before the connection closes is read and dropped, not buffered.
        payload.resume();
        reject(tooLarge());
      } else if (received <= limits.limit) {
        chunks.push(bytes);
      } else if (chunks.length > 0) {
        // Over the limit: nothing more is kept, the rest is only counted until it ends.
        chunks.length = 0;
      }
    };
    const onEnd = () => {
      stop();
      if (received > limits.limit) reject(tooLarge());
      else resolve(Buffer.concat(chunks, received));
    };
    const onError = (error: Error) => {
      stop();
      // The client went away or broke the framing mid-body: its fault, not the server's.
      reject(Object.assign(error, { statusCode: 400 }));
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
