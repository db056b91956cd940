/** Least-squares slope of `y` over `x` (NaN with fewer than two points or no spread in `x`). */
export function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 2) return Number.NaN;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += ((x[i] as number) - mx) * ((y[i] as number) - my);
    den += ((x[i] as number) - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** A series' tolerance: flat when the growth its slope projects over the window stays under `floor` and `share`. */
export interface Tolerance {
  /** Growth always allowed over the window (noise: GC cycles, allocator pages), in the series' unit. */
  floor: number;
  /** Growth allowed over the window as a share of the series' mean level, when that is more than `floor`. */
  share: number;
}

export interface SeriesVerdict {
  name: string;
  unit: string;
  /** Least-squares slope per minute over the window. */
  perMinute: number;
  /** The largest slope per minute that still counts as flat over this window. */
  allowedPerMinute: number;
  /** Grew beyond the tolerance: what a leak looks like. */
  growing: boolean;
  /** Fell beyond it (a heap given back after the warm-up): not a leak, but not flat either. */
  falling: boolean;
}

/**
 * Whether a series grew (or fell) over a window of `minutes` after warm-up: slope × minutes beyond
 * ±max(floor, share × mean).
 * A tolerance on the growth over the window, not on the slope alone: a short window cannot tell 2 MB/min from GC
 * noise, a 30-minute one can, and the verdict says so through `allowedPerMinute`.
 */
export function seriesVerdict(name: string, unit: string, times: readonly number[], values: readonly number[], tolerance: Tolerance): SeriesVerdict {
  const minutes = (times.at(-1) ?? 0) - (times[0] ?? 0);
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const allowedGrowth = Math.max(tolerance.floor, tolerance.share * mean);
  const perMinute = slope(times, values);
  const allowedPerMinute = minutes > 0 ? allowedGrowth / minutes : Number.POSITIVE_INFINITY;
  return { name, unit, perMinute, allowedPerMinute, growing: !(perMinute <= allowedPerMinute), falling: perMinute < -allowedPerMinute };
}

/** Bytes a steady state holds in Redis, per part, for the sizing formula of docs/operating.md#bounded-memory. */
export interface SteadyStateInputs {
  /** `used_memory` with the platform started and idle (fixed keys, Lua scripts, client buffers). */
  idleBytes: number;
  runsPerSecond: number;
  /** A global event stream entry (MEMORY USAGE of the stream / its length). */
  bytesPerStreamEntry: number;
  streamMaxLen: number;
  /** A completed run job (its BullMQ hash and its place in the completed set). */
  bytesPerJob: number;
  jobsKept: number;
  /** A finished run's own log. */
  bytesPerRunLog: number;
  /** RUN_EVENTS_TTL_SECONDS plus the time a run takes. */
  runLogLifeSeconds: number;
  /** BullMQ's own event stream (`{prefix}:runs.v1:events`, capped by BullMQ at ~10,000 entries). */
  queueEventsBytes: number;
}

/** The steady-state `used_memory` the parts add up to, and each part. */
export function steadyStateBytes(inputs: SteadyStateInputs): { total: number; parts: Record<string, number> } {
  const parts = {
    idle: inputs.idleBytes,
    // Full at steady state, whatever the rate: it only ever trims to its cap.
    'global event stream': inputs.bytesPerStreamEntry * inputs.streamMaxLen,
    'completed run jobs': inputs.bytesPerJob * inputs.jobsKept,
    'run logs': inputs.bytesPerRunLog * inputs.runsPerSecond * inputs.runLogLifeSeconds,
    "BullMQ's event stream": inputs.queueEventsBytes,
  };
  return { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}
