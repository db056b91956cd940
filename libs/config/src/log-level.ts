export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function asLevel(value: string): LogLevel | undefined {
  const lower = value.trim().toLowerCase();
  if (lower === 'warning') return 'warn';
  return (LOG_LEVELS as readonly string[]).includes(lower) ? (lower as LogLevel) : undefined;
}

/**
 * Parses `info`, or the runbook's RUST_LOG style `debug,skreaver=trace`, to the level Skreaver logs at:
 * a `skreaver=` directive wins over the bare default, other targets are ignored.
 */
export function parseLogLevel(spec: string): LogLevel | undefined {
  let fallback: LogLevel | undefined;
  let own: LogLevel | undefined;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [target, level] = part.includes('=') ? part.split('=', 2) : [undefined, part];
    const parsed = asLevel(level ?? '');
    if (!parsed) return undefined;
    if (target === undefined) fallback = parsed;
    else if (target.trim() === 'skreaver' || target.trim().startsWith('skreaver')) own = parsed;
  }
  return own ?? fallback ?? (spec.trim() === '' ? 'info' : undefined);
}
