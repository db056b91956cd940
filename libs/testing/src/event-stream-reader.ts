import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

import { SseParser } from '@skreaver/sdk';

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
        // The SDK's parser: the tests read streams exactly as SDK users (and the spec) do.
        const parser = new SseParser();
        let settled = false;
        const timer = setTimeout(() => req.destroy(new Error('event stream did not end in time')), options.timeoutMs ?? 10_000);
        const finish = (stopped: boolean) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], headers: res.headers, events, comments: parser.comments, stopped });
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (settled) return;
          for (const { id, event, data } of parser.push(chunk)) {
            events.push({ ...(id === undefined ? {} : { id }), ...(event === undefined ? {} : { event }), data });
            if (options.until?.(events)) {
              finish(true);
              req.destroy();
              return;
            }
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
