import { z } from 'zod';

import { Timestamp } from '../common';

/** An entry a consumer group gave up on: unparseable, or failed more than the allowed deliveries. */
export const DeadLetterV1 = z.object({
  /** Key of the stream the entry came from. */
  stream: z.string(),
  /** Entry id in that stream. */
  entry_id: z.string(),
  group: z.string(),
  // `no_recipient`: a mesh message whose addressee no longer exists.
  reason: z.enum(['invalid_payload', 'max_deliveries', 'no_recipient']),
  /** Why the payload was rejected or the last handler error. */
  detail: z.string(),
  deliveries: z.number().int().nonnegative(),
  /** The raw entry fields, so an operator can inspect and redrive it. */
  fields: z.record(z.string(), z.string()),
  ts: Timestamp,
});
export type DeadLetterV1 = z.infer<typeof DeadLetterV1>;
