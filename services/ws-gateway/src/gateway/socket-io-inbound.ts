import type { WsErrorV1 } from '@skreaver/contracts';

const EVENTS = new Set(['subscribe', 'unsubscribe', 'ping']);

/**
 * What is wrong with a socket.io message before any handler sees it: an event name the gateway does not serve,
 * or arguments above `maxBytes` once serialised (the transport only cuts far larger ones).
 */
export function inboundProblem(event: string, args: readonly unknown[], maxBytes: number): WsErrorV1 | null {
  if (!EVENTS.has(event)) {
    return { code: 'unknown_type', message: `unknown event ${JSON.stringify(event.slice(0, 64))}: expected subscribe, unsubscribe or ping` };
  }
  const size = Buffer.byteLength(JSON.stringify(args.filter((arg) => typeof arg !== 'function')));
  if (size > maxBytes) return { code: 'message_too_large', message: `messages are limited to ${maxBytes} bytes (this one has ${size})` };
  return null;
}
