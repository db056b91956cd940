import { z } from 'zod';

import { WsErrorV1 } from './ws-error.v1';

/**
 * Answer to `subscribe` and `unsubscribe`. A `subscribe` with `after` is acknowledged once the missed events
 * have been sent (`replayed` of them): every later event is live.
 */
export const AckV1 = z.union([
  z.object({ ok: z.literal(true), room: z.string(), replayed: z.number().int().nonnegative().optional() }),
  z.object({ ok: z.literal(false), error: WsErrorV1 }),
]);
export type AckV1 = z.infer<typeof AckV1>;
