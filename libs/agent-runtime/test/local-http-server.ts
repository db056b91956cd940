import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** A request the test server received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (request: ReceivedRequest, response: ServerResponse) => unknown;

/** An HTTP server on 127.0.0.1 with a free port; records every request. */
export interface LocalHttpServer {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Routes by path (without query); unknown paths answer 404. */
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

/** Starts a `LocalHttpServer`. */
export async function startLocalHttpServer(): Promise<LocalHttpServer> {
  const routes = new Map<string, Handler>();
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      const handler = routes.get((req.url ?? '').split('?')[0] ?? '');
      if (!handler) {
        res.writeHead(404).end('not found');
        return;
      }
      Promise.resolve(handler(received, res)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers JSON. */
export function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
