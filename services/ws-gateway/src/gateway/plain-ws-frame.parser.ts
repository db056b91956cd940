import { WsClientEnvelopeV1, WsClientFrameType } from '@skreaver/contracts';
import type { WsClientFrameType as FrameType, WsErrorV1, WsRequestId } from '@skreaver/contracts';

/** A `/ws` client frame: its type, its request id, and the request's own fields; or why it was refused. */
export type ParsedClientFrame =
  | { ok: true; type: FrameType; id?: WsRequestId; body: Record<string, unknown> }
  | { ok: false; id?: WsRequestId; error: WsErrorV1 };

/** Reads one `/ws` client frame of `bytes` bytes; never throws, so a bad frame is answered and the connection kept. */
export function parseClientFrame(text: string, bytes: number, maxBytes: number): ParsedClientFrame {
  if (bytes > maxBytes) {
    return { ok: false, error: { code: 'message_too_large', message: `frames are limited to ${maxBytes} bytes (this one has ${bytes})` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: { code: 'invalid_json', message: `the frame is not JSON: ${error instanceof Error ? error.message : String(error)}` } };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, error: { code: 'invalid_json', message: 'a frame is a JSON object, e.g. {"type":"subscribe","agent_id":"…"}' } };
  }
  const envelope = WsClientEnvelopeV1.safeParse(json);
  if (!envelope.success) {
    return { ok: false, error: { code: 'validation_failed', message: 'a frame needs a string "type" and, optionally, an "id" (string or integer)' } };
  }
  const { type, id, ...body } = envelope.data;
  const known = WsClientFrameType.safeParse(type);
  if (!known.success) {
    return {
      ok: false,
      ...(id === undefined ? {} : { id }),
      error: { code: 'unknown_type', message: `unknown frame type ${JSON.stringify(type)}: expected subscribe, unsubscribe or ping` },
    };
  }
  return { ok: true, type: known.data, ...(id === undefined ? {} : { id }), body };
}
