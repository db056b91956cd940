/** One server-sent event as the text/event-stream format defines it. */
export interface SseMessage {
  /** The `id:` field of this event, when it had one. */
  id?: string;
  /** The `event:` field, when it had one (the default type is `message`). */
  event?: string;
  /** Every `data:` line, joined with `\n`. */
  data: string;
  /** The `retry:` field (milliseconds), when it had one. */
  retry?: number;
}

/**
 * Incremental parser of a text/event-stream body (WHATWG HTML §9.2.6): feed it text chunks as they arrive, in any
 * split, and it returns the events each chunk completed. Lines end with LF, CRLF or CR; `:` lines are comments
 * (counted, so a reader can see keep-alives); a block with no field is not an event.
 */
export class SseParser {
  /** Comment lines seen so far (keep-alives). */
  comments = 0;
  private buffer = '';
  private pendingCr = false;
  private current: SseMessage = { data: '' };
  private hasData = false;
  private hasField = false;

  push(chunk: string): SseMessage[] {
    const out: SseMessage[] = [];
    let text = chunk;
    // A CR that ended the previous chunk, followed by LF here, is one line end.
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== '\n' && char !== '\r') continue;
      const line = this.buffer.slice(start, i);
      if (char === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[i + 1] === '\n') i += 1;
      }
      start = i + 1;
      const event = this.line(line);
      if (event) out.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      if (!this.hasField) return undefined;
      const event = this.current;
      if (this.hasData) event.data = event.data.slice(0, -1);
      this.current = { data: '' };
      this.hasData = false;
      this.hasField = false;
      return event;
    }
    if (line.startsWith(':')) {
      this.comments += 1;
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.hasField = true;
    if (field === 'data') {
      this.current.data += `${value}\n`;
      this.hasData = true;
    } else if (field === 'id') {
      if (!value.includes('\0')) this.current.id = value;
    } else if (field === 'event') this.current.event = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.current.retry = Number(value);
    return undefined;
  }
}
