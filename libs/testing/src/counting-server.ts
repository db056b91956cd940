import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a `CountingServer` received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  /** The `Idempotency-Key` header, if any. */
  idempotencyKey: string | undefined;
  body: string;
}

/** How the server answers a request: `nth` is 1 for the first request to that path. */
export type CountingServerBehaviour = (
  request: ReceivedRequest,
  nth: number,
) => { status?: number; delayMs?: number; body?: unknown } | undefined;

/** A loopback HTTP server that records every request (the side effects a test counts) and answers JSON. */
export interface CountingServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: readonly ReceivedRequest[];
  /** Requests received for `path`. */
  to(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a `CountingServer`. A request is recorded when it arrives (before any `delayMs`), so one that its client
 * gave up on still counts; the answer is `body` (default `{"path", "nth"}`) as JSON with `status` (default 200).
 */
export async function countingServer(behaviour: CountingServerBehaviour = () => undefined): Promise<CountingServer> {
  const requests: ReceivedRequest[] = [];
  const held = new Set<NodeJS.Timeout>();
  const hold = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        held.delete(timer);
        resolve();
      }, ms);
      held.add(timer);
    });
  const server: Server = createServer((request, response) => {
    void readBody(request).then(async (body) => {
      const received: ReceivedRequest = {
        method: request.method ?? 'GET',
        path: new URL(request.url ?? '/', 'http://localhost').pathname,
        idempotencyKey: header(request, 'idempotency-key'),
        body,
      };
      requests.push(received);
      const nth = requests.filter((other) => other.path === received.path).length;
      const answer = behaviour(received, nth) ?? {};
      if (answer.delayMs) await hold(answer.delayMs);
      if (response.destroyed) return;
      response.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body ?? { path: received.path, nth }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    to: (path) => requests.filter((request) => request.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        // Answers still held are never sent: their clients are gone or about to be.
        for (const timer of held) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
