import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from '@skreaver/config';

import { formatJson, formatPretty } from './log-format';
import type { LogEntry, LogOutput } from './log-format';
import type { RequestContext } from './request-context';
import { stdoutSink } from './turn-buffered-sink';

const RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

export type LogFields = Record<string, unknown>;

/** Where log lines go; stdout by default (`stdoutSink`: a turn's lines together, in writes of at most 4 KB), replaceable in tests. */
export type LogSink = (line: string) => void;

/** Keys whose values never reach a log line, whatever object they arrive in. */
const SECRET_KEY = /authorization|password|secret|token|api[-_]?key|cookie/i;

const MAX_DEPTH = 6;

/**
 * Nest's start-up narration (every module initialised, every route and socket message mapped): ~40 lines per
 * service at `info` that say nothing an operator acts on. They are logged at `debug`; `LOG_LEVEL=debug` shows them.
 */
const FRAMEWORK_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController', 'NestFactory', 'NestApplication']);

/** Copies `value` with secret-named keys masked at any depth; cycles and BigInts become strings, never a throw. */
function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (seen.has(value) || depth >= MAX_DEPTH) return '[truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  const out: LogFields = {};
  for (const [key, item] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(item, depth + 1, seen);
  return out;
}

/**
 * The services' Nest logger. By default it writes one JSON object per line in the runbook's format:
 * `{"timestamp","level","target","fields":{"message","request_id",…}}`; with `output.format` `pretty`, the same entry
 * (same redaction, same request id) as a human-readable line (see `formatPretty`).
 */
export class JsonLogger implements LoggerService {
  private threshold: number;
  private readonly render: (entry: LogEntry) => string;

  constructor(
    private readonly target: string,
    level: LogLevel = 'info',
    private readonly sink: LogSink = stdoutSink(),
    output: LogOutput = { format: 'json', colour: false },
  ) {
    this.threshold = RANK[level];
    this.render = output.format === 'pretty' ? (entry) => formatPretty(entry, { colour: output.colour }) : formatJson;
  }

  setLevel(level: LogLevel): void {
    this.threshold = RANK[level];
  }

  isEnabled(level: LogLevel): boolean {
    return RANK[level] >= this.threshold;
  }

  /** Structured entry point: `logger.write('info', 'Request processed', { status: 200 }, 'http', requestContext)`. */
  write(level: LogLevel, message: string, fields: LogFields = {}, context?: string, request?: RequestContext): void {
    if (RANK[level] < this.threshold) return;
    // A line written while serving a request is given the request's context: its id (and agent, subject) go on it.
    const entry: LogEntry = {
      timestamp: new Date().toISOString(),
      level: level.toUpperCase(),
      target: context ? `${this.target}::${context}` : this.target,
      // Caller fields first: they must not overwrite the message or the request id.
      fields: {
        ...(redact(fields) as LogFields),
        message,
        ...(request
          ? {
              request_id: request.requestId,
              ...(request.agentId ? { agent_id: request.agentId } : {}),
              ...(request.subject ? { subject: request.subject } : {}),
            }
          : {}),
      },
    };
    this.sink(this.render(entry));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.fromNest('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.fromNest('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.fromNest('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.fromNest('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.fromNest('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.fromNest('error', message, rest);
  }

  // Nest calls log(message, context) and error(message, stack, context); the context is the last string.
  private fromNest(requested: LogLevel, message: unknown, rest: unknown[]): void {
    if (RANK[requested] < this.threshold) return;
    const fields: LogFields = {};
    // error(message, stack) without a context: the lone string is a stack trace, not a context name.
    if (requested === 'error' && typeof rest[0] === 'string' && rest[0].includes('\n')) fields['stack'] = rest.shift();
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const level = requested === 'info' && context !== undefined && FRAMEWORK_CHATTER.has(context) ? 'debug' : requested;
    if (RANK[level] < this.threshold) return;
    // log('message', {details}) keeps the details.
    for (const extra of rest) if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) Object.assign(fields, extra);
    if (message instanceof Error) {
      fields['error'] = message.name;
      fields['stack'] = message.stack;
      this.write(level, message.message, fields, context);
    } else if (message !== null && typeof message === 'object') {
      const { message: text, ...others } = message as LogFields;
      this.write(level, typeof text === 'string' ? text : '', { ...others, ...fields }, context);
    } else {
      this.write(level, String(message), fields, context);
    }
  }
}
