import { connect } from 'node:net';

import { ApiErrorBody } from '@skreaver/contracts';

/** A response as read off the socket, before any HTTP client could interpret (or refuse) it. */
export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (FIN or RST) before `timeoutMs`. */
  closed: boolean;
}

/**
 * Writes `request` as-is on a new TCP connection and reads until the server closes it (or `timeoutMs`). Like the
 * simplest clients, it reads only once the whole request is written, and fails if that write fails.
 */
export function rawHttpExchange(port: number, request: string | Buffer, timeoutMs = 5_000): Promise<RawHttpResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    let writeError: Error | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      if (writeError) return reject(new Error(`writing the request failed: ${writeError.message}`));
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
      if (!status) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const headers = Object.fromEntries(
        headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status, headers, body: rest.join('\r\n\r\n'), closed });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => {
      closed = true;
      finish();
    });
    // A reset after the answer was read is fine: what was read counts.
    socket.on('error', () => undefined);
    socket.pause();
    socket.write(request, (error) => {
      writeError = error ?? undefined;
      socket.resume();
    });
  });
}

/** What is wrong with `response` as a documented error answer with `status` and `code`, or null. */
export function errorShapeProblem(response: { status: number; body: string; headers: Record<string, string> }, status: number, code: string): string | null {
  if (response.status !== status) return `status ${response.status}, expected ${status}: ${response.body.slice(0, 200)}`;
  if (!/^application\/json/.test(response.headers['content-type'] ?? '')) return `content-type ${response.headers['content-type']}`;
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return `not JSON: ${response.body.slice(0, 200)}`;
  }
  const parsed = ApiErrorBody.strict().safeParse(body);
  if (!parsed.success) return `not the error shape: ${response.body.slice(0, 200)}`;
  if (parsed.data.error !== code) return `error ${parsed.data.error}, expected ${code}`;
  if (!parsed.data.request_id || parsed.data.request_id !== response.headers['x-request-id']) {
    return `request_id ${parsed.data.request_id} does not match x-request-id ${response.headers['x-request-id']}`;
  }
  return null;
}

