import { SkreaverError } from '@skreaver/sdk';

/** Exit codes of `skreaver` (docs/cli.md#exit-codes). */
export const EXIT = {
  ok: 0,
  /** The run failed or was cancelled (or any other error the API reported). */
  failed: 1,
  /** Bad command line: unknown command or option, missing argument, unreadable input (or the API's `validation_failed`). */
  usage: 2,
  /** No credentials, a wrong key, or a role that may not do this (401/403). */
  auth: 3,
  not_found: 4,
  /** A service could not be reached or answered 502/503/504. */
  unavailable: 5,
  /** Interrupted with Ctrl-C (SIGINT): a followed run goes on unless `--cancel-on-exit`. */
  interrupted: 130,
} as const;

/** An error the CLI raises itself, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

/** The exit code an error stands for. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof SkreaverError) {
    if (error.status === 401 || error.status === 403) return EXIT.auth;
    if (error.status === 404) return EXIT.not_found;
    if (error.status === 0 || error.status === 502 || error.status === 503 || error.status === 504) return EXIT.unavailable;
    if (error.status === 400 || error.status === 422) return EXIT.usage;
  }
  return EXIT.failed;
}

/** One line for stderr. */
export function describeError(error: unknown): string {
  if (error instanceof SkreaverError) {
    const id = error.requestId ? ` (request ${error.requestId})` : '';
    const details = Array.isArray(error.details)
      ? error.details.map((issue: { path?: string; message?: string }) => `\n  ${issue.path ?? ''}: ${issue.message ?? ''}`).join('')
      : '';
    return `error: ${error.code}: ${error.message}${id}${details}`;
  }
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}
