import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

/** One server-sent event as received. */
export interface ReceivedSse {
  id?: string;
  event?: string;
  data: string;
}

/** What `readEventStream` read. */
export interface ReadEventStream {
  status: number;
  contentType: string | undefined;
  headers: IncomingHttpHeaders;
  events: ReceivedSse[];
  comments: number;
  /** The reader hung up because `until` said so (the server had not ended the stream). */
  stopped: boolean;
}

export interface ReadEventStreamOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
  /** Called after each event; true hangs up (a client dropping mid-stream). */
  until?: (events: ReceivedSse[]) => boolean;
}

/**
 * Opens a server-sent-events response and collects its events until the server ends it, `until` says stop, or
 * `timeoutMs` (an error). Plain node:http, so the test sees exactly what a browser's EventSource would.
 */
export function readEventStream(url: string, options: ReadEventStreamOptions = {}): Promise<ReadEventStream> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: { accept: 'text/event-stream', ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (res) => {
        const events: ReceivedSse[] = [];
        let comments = 0;
        let buffer = '';
        let settled = false;
        const timer = setTimeout(() => req.destroy(new Error('event stream did not end in time')), options.timeoutMs ?? 10_000);
        const finish = (stopped: boolean) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], headers: res.headers, events, comments, stopped });
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (settled) return;
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
            else {
              events.push(event);
              if (options.until?.(events)) {
                finish(true);
                req.destroy();
                return;
              }
            }
            boundary = buffer.indexOf('\n\n');
          }
        });
        res.on('end', () => finish(false));
        res.on('error', (error) => (settled ? undefined : reject(error)));
      },
    );
    req.on('error', (error) => reject(error));
    if (payload) req.write(payload);
    req.end();
  });
}
