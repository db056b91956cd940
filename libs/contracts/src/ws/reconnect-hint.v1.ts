import { z } from 'zod';

/**
 * Server → client, just before a graceful disconnect: reconnect (the edge routes you to another replica) and
 * resubscribe with `after` set to the last event id you received; nothing is lost.
 */
export const ReconnectHintV1 = z.object({
  reason: z.literal('shutting_down'),
  message: z.string(),
  /** Wait about this long before reconnecting, to spread the reconnections of a replica's clients. */
  retry_after_ms: z.number().int().nonnegative(),
});
export type ReconnectHintV1 = z.infer<typeof ReconnectHintV1>;
