/** One measured quantity: the raw baseline (when there is one), ours, their ratio and the target it is held to. */
export interface Metric {
  name: string;
  unit: string;
  baseline: number | null;
  ours: number | null;
  /** ours / baseline. */
  ratio: number | null;
  /** e.g. `ratio ≥ 0.5`, `≤ 20 ms`; absent for numbers shown for information. */
  target?: string;
  met?: boolean;
}

export interface ScenarioResult {
  id: string;
  title: string;
  metrics: Metric[];
  notes: string[];
  durationMs: number;
  /** Set when the scenario failed or timed out; the metrics measured before are kept. */
  error?: string;
}

/** What every scenario gets: mode and where to put CPU profiles. */
export interface ScenarioContext {
  quick: boolean;
  /** `--duration <seconds>`, for scenarios that run as long as asked (the soak). */
  durationS?: number;
  /** When set, services are spawned with `--cpu-prof` into `<profileDir>/<scenario>/<service>/`. */
  profileDir?: string;
  /** Adds a note to the scenario's result (how it was measured, settings that matter). */
  note(text: string): void;
  /** Records a metric as soon as it is measured, so a later failure keeps it. */
  record(metric: Metric): void;
}

export interface Scenario {
  id: string;
  title: string;
  /** Long scenarios run only when named with `--only` (not in a full `npm run bench`). */
  optIn?: boolean;
  /** Upper bound of the whole scenario; past it the scenario is recorded as failed. */
  timeoutMs: (quick: boolean) => number;
  run(context: ScenarioContext): Promise<void>;
}

const finite = (value: number | null): value is number => value !== null && Number.isFinite(value);

/** A metric compared with its baseline; `atLeast` / `atMost` bound the ratio ours/baseline. */
export function versus(
  name: string,
  unit: string,
  baseline: number | null,
  ours: number | null,
  bound: { atLeast?: number; atMost?: number } = {},
): Metric {
  const ratio = finite(baseline) && finite(ours) && baseline !== 0 ? ours / baseline : null;
  const metric: Metric = { name, unit, baseline, ours, ratio };
  if (bound.atLeast !== undefined) {
    metric.target = `ratio ≥ ${bound.atLeast}`;
    metric.met = ratio !== null && ratio >= bound.atLeast;
  } else if (bound.atMost !== undefined) {
    metric.target = `ratio ≤ ${bound.atMost}`;
    metric.met = ratio !== null && ratio <= bound.atMost;
  }
  return metric;
}

/** A metric held to an absolute minimum (e.g. ≥ 2,000 msgs/s), with an optional baseline for reference. */
export function floor(name: string, unit: string, ours: number | null, min: number, baseline: number | null = null): Metric {
  const ratio = finite(baseline) && finite(ours) && baseline !== 0 ? ours / baseline : null;
  return { name, unit, baseline, ours, ratio, target: `≥ ${min.toLocaleString('en-US')} ${unit}`, met: finite(ours) && ours >= min };
}

/** A metric held to an absolute ceiling (e.g. p99 ≤ 20 ms), with an optional baseline for reference. */
export function ceiling(name: string, unit: string, ours: number | null, max: number, baseline: number | null = null): Metric {
  const ratio = finite(baseline) && finite(ours) && baseline !== 0 ? ours / baseline : null;
  return { name, unit, baseline, ours, ratio, target: `≤ ${max} ${unit}`, met: finite(ours) && ours <= max };
}
