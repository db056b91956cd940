import { request } from 'node:http';

import { withDefaultCredentials } from './credentials';

/** One server-sent event as received. */
export interface ReceivedSse {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Opens a server-sent-events response and collects its events until the server ends it (or `timeoutMs`).
 * Plain node:http, so the test sees exactly what a browser's EventSource would.
 */
export function readEventStream(
  url: string,
  options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; contentType: string | undefined; events: ReceivedSse[]; comments: number }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: withDefaultCredentials(url, {
          accept: 'text/event-stream',
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        }),
      },
      (res) => {
        const events: ReceivedSse[] = [];
        let comments = 0;
        let buffer = '';
        const timer = setTimeout(() => req.destroy(new Error('event stream did not end in time')), options.timeoutMs ?? 10_000);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let boundary = buffer.indexOf('\n\n');
          while (boundary >= 0) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            const event: ReceivedSse = { data: '' };
            let isComment = true;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              isComment = false;
              const [field, ...rest] = line.split(':');
              const value = rest.join(':').replace(/^ /, '');
              if (field === 'id') event.id = value;
              else if (field === 'event') event.event = value;
              else if (field === 'data') event.data += value;
            }
            if (isComment) comments += 1;
            else events.push(event);
            boundary = buffer.indexOf('\n\n');
          }
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], events, comments });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}
