export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `json`: one object per line, for machines; `pretty`: coloured lines for a person at a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

function asLevel(value: string): LogLevel | undefined {
  const lower = value.trim().toLowerCase();
  if (lower === 'warning') return 'warn';
  // We cannot go quieter than errors: `off` for our own target means errors only.
  if (lower === 'off') return 'error';
  return (LOG_LEVELS as readonly string[]).includes(lower) ? (lower as LogLevel) : undefined;
}

const TARGET = /^[A-Za-z_][\w:-]*$/;

/** Our own target in RUST_LOG terms: `skreaver`, or a module of it (`skreaver::http`, `skreaver_http`). */
function isOwnTarget(target: string): boolean {
  return target === 'skreaver' || target.startsWith('skreaver::') || target.startsWith('skreaver_');
}

/**
 * Parses `info`, or the runbook's RUST_LOG style `debug,skreaver=trace`, to the level Skreaver logs at: a
 * `skreaver=` directive wins over the bare default; directives for other targets (`hyper=off`, `tokio`) are
 * accepted and ignored. Returns undefined only for something that is not a directive list at all.
 */
export function parseLogLevel(spec: string): LogLevel | undefined {
  // A single word must be a level: LOG_LEVEL=verbose is a typo to report, not a target to ignore.
  if (!/[,=]/.test(spec) && spec.trim() !== '') return asLevel(spec);
  let fallback: LogLevel | undefined;
  let own: LogLevel | undefined;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const equals = part.indexOf('=');
    if (equals >= 0) {
      const target = part.slice(0, equals).trim();
      const level = asLevel(part.slice(equals + 1));
      if (!TARGET.test(target) || !level) return undefined;
      if (isOwnTarget(target)) own = level;
      continue;
    }
    const level = asLevel(part);
    if (level) fallback = level;
    else if (!TARGET.test(part)) return undefined;
  }
  return own ?? fallback ?? 'info';
}
