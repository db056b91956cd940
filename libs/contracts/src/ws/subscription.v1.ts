import { z } from 'zod';

import { AgentId, RunId } from '../common';

const EVENT_ID = /^([0-9a-f-]{36}):(\d+)$/;

/** An event id (`<run_id>:<seq>`) a subscription resumes after. */
export const EventCursor = z.string().regex(EVENT_ID, 'an event id (<run_id>:<seq>)');
export type EventCursor = z.infer<typeof EventCursor>;

/** A mesh topic a socket may listen to: letters, digits and `. _ : -`, at most 128 characters. */
export const TopicName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits and . _ : - (at most 128), starting with a letter or digit');
export type TopicName = z.infer<typeof TopicName>;

/** Splits an event id into its run and seq; null when it is not one. */
export function splitEventId(id: string): { run_id: string; seq: number } | null {
  const match = EVENT_ID.exec(id);
  if (!match?.[1] || !match[2]) return null;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? { run_id: match[1], seq } : null;
}

/**
 * Client → server `subscribe`: exactly one target. With `after` (the last event id the client received) the
 * missed events are replayed first, then live ones follow with no gap and no duplicate. A run subscription
 * resumes after an event of that run; an agent subscription after any event of the caller's tenant.
 */
export const SubscribeRequestV1 = z.union([
  z.strictObject({ agent_id: AgentId, after: EventCursor.optional() }),
  z
    .strictObject({ run_id: RunId, after: EventCursor.optional() })
    .refine((request) => request.after === undefined || splitEventId(request.after)?.run_id === request.run_id, {
      message: 'after must be an event of this run',
      path: ['after'],
    }),
  z.strictObject({ topic: TopicName }),
]);
export type SubscribeRequestV1 = z.infer<typeof SubscribeRequestV1>;

/** Client → server `unsubscribe`: the target of an earlier `subscribe`. */
export const UnsubscribeRequestV1 = z.union([
  z.strictObject({ agent_id: AgentId }),
  z.strictObject({ run_id: RunId }),
  z.strictObject({ topic: TopicName }),
]);
export type UnsubscribeRequestV1 = z.infer<typeof UnsubscribeRequestV1>;
