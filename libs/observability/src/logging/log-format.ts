import type { LogFormat } from '@skreaver/config';

/** One log entry after redaction and the request context, before it becomes a line. */
export interface LogEntry {
  timestamp: string;
  level: string;
  target: string;
  fields: Record<string, unknown>;
}

/** The runbook's format: one JSON object per line. */
export function formatJson(entry: LogEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

const ESC = '\u001b[';
const paint = (code: string) => (text: string) => `${ESC}${code}m${text}${ESC}0m`;
const plain = (text: string) => text;

interface Palette {
  dim: (text: string) => string;
  level: Record<string, (text: string) => string>;
  context: (text: string) => string;
  key: (text: string) => string;
}

const COLOURS: Palette = {
  dim: paint('2'),
  level: { TRACE: paint('90'), DEBUG: paint('34'), INFO: paint('32'), WARN: paint('33'), ERROR: paint('1;31') },
  context: paint('36'),
  key: paint('2'),
};
const NO_COLOURS: Palette = { dim: plain, level: {}, context: plain, key: plain };

/**
 * Control characters (ESC above all) in a message or a field could move the cursor or recolour the operator's
 * terminal: a user-supplied agent name must not. They are shown escaped, as JSON would.
 */
function printable(text: string, keepNewlines = false): string {
  // eslint-disable-next-line no-control-regex
  const pattern = keepNewlines ? /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g : /[\u0000-\u001f\u007f-\u009f]/g;
  return text.replace(pattern, (c) => JSON.stringify(c).slice(1, -1));
}

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? printable(value) : printable(JSON.stringify(value));
  if (value === undefined) return 'undefined';
  return printable(JSON.stringify(value) ?? String(value));
}

/** `skreaver_agent_api::RunsService` → service `agent-api`, context `RunsService`. */
function splitTarget(target: string): { service: string; context?: string } {
  const [head = target, ...rest] = target.split('::');
  const service = head.replace(/^skreaver_/, '').replace(/_/g, '-');
  return rest.length > 0 ? { service, context: rest.join('::') } : { service };
}

/**
 * The human format for a terminal: `12:04:05.123 INFO  agent-api bootstrap: Listening port=8080`, fields as
 * key=value, an error's stack dimmed on the lines below. Gets the same (already redacted) entry as `formatJson`.
 */
export function formatPretty(entry: LogEntry, options: { colour: boolean }): string {
  const colours = options.colour ? COLOURS : NO_COLOURS;
  const { message, stack, ...fields } = entry.fields;
  const { service, context } = splitTarget(entry.target);
  const time = entry.timestamp.slice(11, 23);
  const levelColour = colours.level[entry.level] ?? plain;
  const parts = [colours.dim(time), levelColour(entry.level.padEnd(5)), service];
  if (context) parts.push(colours.context(`${printable(context)}:`));
  parts.push(printable(typeof message === 'string' ? message : String(message ?? '')));
  for (const [key, value] of Object.entries(fields)) parts.push(`${colours.key(`${printable(key)}=`)}${fieldValue(value)}`);
  let line = parts.join(' ');
  if (typeof stack === 'string' && stack !== '') {
    const below = printable(stack, true)
      .split('\n')
      .map((text) => colours.dim(`    ${text.trimStart()}`));
    line = [line, ...below].join('\n');
  } else if (stack !== undefined) {
    line += ` ${colours.key('stack=')}${fieldValue(stack)}`;
  }
  return `${line}\n`;
}

export interface LogOutput {
  format: LogFormat;
  colour: boolean;
}

/**
 * What a service writes: `LOG_FORMAT` when set; otherwise pretty on a terminal and JSON everywhere else (a pipe, a
 * file, a container's log driver). Colour only on a terminal, and never with `NO_COLOR` set (https://no-color.org).
 */
export function chooseLogOutput(
  configured: LogFormat | undefined,
  stream: { isTTY?: boolean } = process.stdout,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LogOutput {
  const tty = stream.isTTY === true;
  const format = configured ?? (tty ? 'pretty' : 'json');
  return { format, colour: format === 'pretty' && tty && !env['NO_COLOR'] };
}
