import { Agent, request } from 'node:http';

/** A status and parsed JSON body. */
export interface PostedJson<T> {
  status: number;
  body: T;
}

/**
 * POSTs JSON over node:http with keep-alive sockets: the load generator shares the machine with the services it
 * measures, and global `fetch` (undici behind WHATWG streams) costs it several times the CPU per request, which the
 * services then wait for.
 */
export class HttpPoster {
  // As many sockets as requests in flight (no queueing in the client, as with fetch), kept for the next request.
  private readonly agent = new Agent({ keepAlive: true });

  /** Sends `body` (already JSON) to `url` with `headers`; resolves with the status and the parsed answer. */
  post<T>(url: string, headers: Record<string, string>, body: string): Promise<PostedJson<T>> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}
