import type { RedisClient } from './redis-connection';
import type { z } from 'zod';

/**
 * Calls `onMessage` with every message on the pub/sub `channel` that matches `schema` (others are dropped: a sender
 * of another version must not crash a listener). `subscriber` must be a dedicated connection (it enters subscribe
 * mode; ioredis subscribes again after a reconnect). Returns a function that unsubscribes.
 */
export async function subscribeToChannel<S extends z.ZodType>(
  subscriber: RedisClient,
  channel: string,
  schema: S,
  onMessage: (message: z.infer<S>) => void,
): Promise<() => Promise<void>> {
  const handler = (received: string, raw: string) => {
    if (received !== channel) return;
    const parsed = schema.safeParse(parseJson(raw));
    if (parsed.success) onMessage(parsed.data);
  };
  subscriber.on('message', handler);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', handler);
    await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
