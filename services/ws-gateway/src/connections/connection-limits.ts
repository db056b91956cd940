/** Why a connection slot was refused. */
export type LimitRefusal = 'max_connections' | 'too_many_connections';

/** Counts the connections of a replica (both transports) and of each client address against their limits. */
export class ConnectionLimits {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: { maxConnections: number; maxPerAddress: number }) {}

  /** Connections holding a slot, authenticated or still being authenticated. */
  get size(): number {
    return this.total;
  }

  /** Takes a slot for `address`: the release function (idempotent), or why there is none. */
  acquire(address: string): { ok: true; release: () => void } | { ok: false; refusal: LimitRefusal } {
    if (this.total >= this.limits.maxConnections) return { ok: false, refusal: 'max_connections' };
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.limits.maxPerAddress) return { ok: false, refusal: 'too_many_connections' };
    this.total += 1;
    this.perAddress.set(address, held + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
    return { ok: true, release };
  }
}
