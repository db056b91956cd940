import type { RunEventV1 } from '@skreaver/contracts';

/**
 * One event on its way to many clients: encoded at most once per wire format (the `/ws` JSON text, socket.io's
 * packet), however many clients receive it.
 */
export class EventFrame {
  private text: string | undefined;
  private readonly encodings = new Map<object, unknown>();

  constructor(readonly event: RunEventV1) {}

  /** The `/ws` frame `{"type":"event","event":…}`. */
  get wsText(): string {
    this.text ??= JSON.stringify({ type: 'event', event: this.event });
    return this.text;
  }

  /** The event as `format` encodes it, computed by the first caller and shared by every later one. */
  encodedFor<T>(format: object, encode: (event: RunEventV1) => T): T {
    if (!this.encodings.has(format)) this.encodings.set(format, encode(this.event));
    return this.encodings.get(format) as T;
  }
}
