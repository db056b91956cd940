import type { z } from 'zod';

/** Thrown when a payload does not match the schema of the stream or queue it is meant for. */
export class ContractViolationError extends Error {
  constructor(
    /** What the payload was for, e.g. `stream runs.events.v1`. */
    readonly target: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    super(`payload for ${target} violates its contract: ${summarise(issues)}`);
    this.name = 'ContractViolationError';
  }
}

function summarise(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 5).map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  // A wholly wrong payload can yield dozens of issues; the first few are enough to see what is wrong.
  if (issues.length > shown.length) shown.push(`…and ${issues.length - shown.length} more`);
  return shown.join('; ');
}
