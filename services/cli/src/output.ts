import { stringify as toYaml } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const FORMATS: OutputFormat[] = ['table', 'json', 'yaml'];

/** A table column: its heading and how to read a row's cell. */
export interface Column<T> {
  header: string;
  cell: (row: T) => unknown;
}

/** A cell as one line of text. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\s+/g, ' ');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Cuts `text` to `width` characters, ending with `…` when cut. */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? '…'.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/**
 * Rows as an aligned table at most `width` columns wide: columns keep their natural width while they fit, and the
 * widest shrink first (cells cut with `…`).
 */
export function renderTable<T>(rows: T[], columns: Column<T>[], width: number): string {
  const cells = rows.map((row) => columns.map((column) => cellText(column.cell(row))));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((row) => row[index]?.length ?? 0)));
  const gap = 2;
  const budget = Math.max(columns.length * 4, width - gap * (columns.length - 1));
  while (widths.reduce((sum, w) => sum + w, 0) > budget) {
    const widest = widths.indexOf(Math.max(...widths));
    if ((widths[widest] ?? 0) <= 4) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  const line = (values: string[]) =>
    values
      .map((value, index) => {
        const w = widths[index] ?? 0;
        const text = truncate(value, w);
        return index === values.length - 1 ? text : text.padEnd(w);
      })
      .join(' '.repeat(gap))
      .trimEnd();
  return [line(columns.map((column) => column.header.toUpperCase())), ...cells.map(line)].join('\n');
}

/** One object as `field  value` lines (nested values as JSON), fitted to `width`. */
export function renderRecord(record: Record<string, unknown>, width: number): string {
  const entries = Object.entries(record);
  const keyWidth = Math.max(0, ...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => truncate(`${key.padEnd(keyWidth)}  ${cellText(value)}`, Math.max(keyWidth + 6, width)).trimEnd()).join('\n');
}

/** Writes `value` in the chosen format: a table of `rows` with `columns`, or the value itself as JSON / YAML. */
export class Printer {
  constructor(
    readonly format: OutputFormat,
    private readonly out: NodeJS.WriteStream,
  ) {}

  get width(): number {
    return this.out.isTTY && this.out.columns ? this.out.columns : 120;
  }

  line(text: string): void {
    this.out.write(`${text}\n`);
  }

  /** A list: a table in `table`, the whole API answer in json/yaml. */
  list<T>(answer: unknown, rows: T[], columns: Column<T>[]): void {
    if (this.format === 'table') this.line(rows.length === 0 ? '(none)' : renderTable(rows, columns, this.width));
    else this.value(answer);
  }

  /** One object. */
  record(value: unknown): void {
    if (this.format === 'table' && value && typeof value === 'object' && !Array.isArray(value)) this.line(renderRecord(value as Record<string, unknown>, this.width));
    else this.value(value);
  }

  value(value: unknown): void {
    if (this.format === 'yaml') this.out.write(toYaml(value ?? null));
    else if (this.format === 'json') this.line(JSON.stringify(value ?? null, null, 2));
    else this.line(typeof value === 'string' ? value : JSON.stringify(value ?? null, null, 2));
  }

  /** One item of a stream (an event): a line in table, NDJSON in json, a YAML document in yaml. */
  streamed(value: unknown, summary: string): void {
    if (this.format === 'json') this.line(JSON.stringify(value));
    else if (this.format === 'yaml') this.out.write(`---\n${toYaml(value)}`);
    else this.line(truncate(summary, this.width));
  }
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/**
 * A one-line progress indicator on a terminal: a frame, the text and the seconds elapsed, redrawn in place every
 * 100 ms (carriage return, erase line) with the cursor hidden meanwhile. Nothing at all when the stream is not a TTY
 * (a pipe, a file) or the terminal is `dumb`: output there stays plain lines.
 */
export class Spinner {
  private frame = 0;
  private text = '';
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  // A second Ctrl-C exits at once (process.exit): the cursor must come back even then.
  private readonly restoreCursor = () => this.out.write(CLEAR_LINE + SHOW_CURSOR);

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  get active(): boolean {
    return this.out.isTTY === true && this.env['TERM'] !== 'dumb';
  }

  start(text: string): void {
    this.text = text;
    if (!this.active || this.timer) return;
    this.startedAt = Date.now();
    this.out.write(HIDE_CURSOR);
    process.once('exit', this.restoreCursor);
    this.draw();
    this.timer = setInterval(() => {
      this.frame = (this.frame + 1) % FRAMES.length;
      this.draw();
    }, 100);
    this.timer.unref();
  }

  /** New text, drawn at once (the frame moves on with the clock only). */
  update(text: string): void {
    this.text = text;
    if (this.timer) this.draw();
  }

  /** Clears the line (before other output: the next update or tick draws it again below). */
  clear(): void {
    if (this.timer) this.out.write(CLEAR_LINE);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.out.write(CLEAR_LINE + SHOW_CURSOR);
    process.off('exit', this.restoreCursor);
  }

  private draw(): void {
    const width = this.out.columns || 80;
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    this.out.write(`${CLEAR_LINE}${truncate(`${FRAMES[this.frame]} ${this.text} (${seconds}s)`, width - 1)}`);
  }
}
