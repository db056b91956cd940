import { Injectable } from '@nestjs/common';
import { withTimeout } from '@skreaver/util';

export interface DependencyStatus {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
  [detail: string]: unknown;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  service: string;
  checks: Record<string, DependencyStatus>;
}

/** A dependency probe; it may return details to show next to the status. */
export type ReadinessCheck = () => Promise<Record<string, unknown> | void>;

const CHECK_TIMEOUT_MS = 2_000;

/** Collects the dependency checks behind `/ready`; services register theirs at boot. */
@Injectable()
export class ReadinessService {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;
  private serviceName = 'skreaver';

  setServiceName(name: string): void {
    this.serviceName = name;
  }

  /** Adds (or replaces) the check named `name`. */
  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
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
      [...this.checks].map(async ([name, check]): Promise<[string, DependencyStatus]> => {
        const started = performance.now();
        try {
          const details = (await withTimeout(check(), CHECK_TIMEOUT_MS, `timed out after ${CHECK_TIMEOUT_MS} ms`)) ?? {};
          // Details first: a check cannot overwrite its own status or latency.
          return [name, { ...details, status: 'up', latency_ms: elapsed(started) }];
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return [name, { status: 'down', latency_ms: elapsed(started), error: message }];
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    if (this.shuttingDown) checks['shutdown'] = { status: 'down', latency_ms: 0, error: 'shutting down' };
    const ready = Object.values(checks).every((c) => c.status === 'up');
    return { status: ready ? 'ready' : 'not_ready', service: this.serviceName, checks };
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
