import { Injectable } from '@nestjs/common';
import { withTimeout } from '@skreaver/util';

export interface DependencyStatus {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
  /** false: this pod keeps serving while it is down (only the routes that need it answer 503). */
  required?: false;
  [detail: string]: unknown;
}

/**
 * `ready`: every check up. `degraded`: only checks the pod can serve without are down; it stays in rotation (HTTP 200)
 * and reports them. `not_ready`: a check the pod cannot serve without is down, or it is shutting down (HTTP 503).
 */
export interface ReadinessReport {
  status: 'ready' | 'degraded' | 'not_ready';
  service: string;
  checks: Record<string, DependencyStatus>;
}

/** A dependency probe; it may return details to show next to the status. */
export type ReadinessCheck = () => Promise<Record<string, unknown> | void>;

export interface ReadinessCheckOptions {
  /**
   * Whether this pod can serve at all without the dependency (default true). A dependency every replica shares, whose
   * outage only some routes feel (the database for agent-api), is `required: false`: taking every pod out of rotation
   * for it would turn those routes' clean 503s into an outage of the whole service.
   */
  required?: boolean;
}

const CHECK_TIMEOUT_MS = 2_000;

/** Collects the dependency checks behind `/ready`; services register theirs at boot. */
@Injectable()
export class ReadinessService {
  private readonly checks = new Map<string, { check: ReadinessCheck; required: boolean }>();
  private shuttingDown = false;
  private serviceName = 'skreaver';

  setServiceName(name: string): void {
    this.serviceName = name;
  }

  /** Adds (or replaces) the check named `name`. */
  register(name: string, check: ReadinessCheck, options: ReadinessCheckOptions = {}): void {
    this.checks.set(name, { check, required: options.required ?? true });
  }

  /** From now on `/ready` answers 503, so load balancers drain this instance before it stops. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, { check, required }]): Promise<[string, DependencyStatus]> => {
        const started = performance.now();
        const optional = required ? {} : { required: false as const };
        try {
          const details = (await withTimeout(check(), CHECK_TIMEOUT_MS, `timed out after ${CHECK_TIMEOUT_MS} ms`)) ?? {};
          // Details first: a check cannot overwrite its own status or latency.
          return [name, { ...details, status: 'up', latency_ms: elapsed(started), ...optional }];
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return [name, { status: 'down', latency_ms: elapsed(started), error: message, ...optional }];
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    if (this.shuttingDown) checks['shutdown'] = { status: 'down', latency_ms: 0, error: 'shutting down' };
    const down = Object.values(checks).filter((c) => c.status === 'down');
    const status = down.length === 0 ? 'ready' : down.every((c) => c.required === false) ? 'degraded' : 'not_ready';
    return { status, service: this.serviceName, checks };
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
