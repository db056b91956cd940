import type { RunEventV1 } from '@skreaver/contracts';

/** One event on its way to many clients: encoded for `/ws` at most once, however many receive it. */
export class EventFrame {
  private text: string | undefined;

  constructor(readonly event: RunEventV1) {}

  /** The `/ws` frame `{"type":"event","event":…}`. */
  get wsText(): string {
    this.text ??= JSON.stringify({ type: 'event', event: this.event });
    return this.text;
  }
}
