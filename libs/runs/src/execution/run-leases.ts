import { randomUUID } from 'node:crypto';

import type { RedisClient } from '@skreaver/messaging';

// Takes the key when free, or keeps it when it already names this holder (a run retried here keeps its lease).
const CLAIM =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end " +
  "if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end return 0";
// Deletes or extends the key only while it still names this holder: a lease that expired and was taken stays taken.
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/**
 * Direct mode's claims on runs: a process executes a run only while it holds the run's lease, a Redis key naming this
 * process (a fresh id per boot) that it renews every third of `leaseMs`. A process that dies stops renewing, so its
 * runs' leases expire and another direct-mode process (or its own restart) may claim and resume them; two live
 * processes never execute one run at once.
 */
export class RunLeases {
  /** This process, as lease values name it. */
  readonly holder = randomUUID();
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    readonly leaseMs: number,
  ) {}

  /**
   * Takes `runId`'s lease unless another live process holds it (this one may hold it already); renewed until
   * `release`. @returns whether this process holds it now.
   */
  async claim(runId: string): Promise<boolean> {
    const taken = (await this.redis.eval(CLAIM, 1, this.key(runId), this.holder, String(this.leaseMs))) === 1;
    if (taken) {
      this.held.add(runId);
      this.timer ??= setInterval(() => void this.renew(), Math.max(100, Math.floor(this.leaseMs / 3)));
    }
    return taken;
  }

  /** Whether some process holds `runId`'s lease. */
  async isHeld(runId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(runId))) === 1;
  }

  /** Gives `runId`'s lease back (if this process still holds it). */
  async release(runId: string): Promise<void> {
    this.held.delete(runId);
    if (this.held.size === 0) this.stopRenewing();
    await this.redis.eval(RELEASE, 1, this.key(runId), this.holder);
  }

  /** Stops renewing (shutdown); leases still held expire on their own. */
  stopRenewing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renew(): Promise<void> {
    for (const runId of this.held) {
      // Redis unreachable: the next renewal tries again; a lease that expires meanwhile may be taken over.
      await this.redis.eval(RENEW, 1, this.key(runId), this.holder, String(this.leaseMs)).catch(() => undefined);
    }
  }

  private key(runId: string): string {
    return `${this.keyPrefix}:run-lease:{${runId}}`;
  }
}
