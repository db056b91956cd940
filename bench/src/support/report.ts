import type { Machine } from './machine';
import type { Metric, ScenarioResult } from './results';

/** Numbers as people read them: thousands separated, three significant digits below 100. */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function verdict(metric: Metric): string {
  if (metric.met === undefined) return '';
  return metric.met ? 'met' : '**missed**';
}

/** The results as one markdown table per run (scenario, metric, baseline, ours, ratio, target, met). */
export function markdownTable(results: readonly ScenarioResult[]): string {
  const lines = ['| scenario | metric | raw baseline | Skreaver | ratio | target | |', '|---|---|--:|--:|--:|---|---|'];
  for (const result of results) {
    for (const metric of result.metrics) {
      lines.push(
        `| ${result.id} | ${metric.name} | ${formatNumber(metric.baseline)} | ${formatNumber(metric.ours)} ${metric.unit} | ${
          metric.ratio === null ? '–' : metric.ratio.toFixed(2)
        } | ${metric.target ?? ''} | ${verdict(metric)} |`,
      );
    }
    if (result.error) lines.push(`| ${result.id} | **error**: ${result.error.replace(/\|/g, '/').split('\n')[0]} | | | | | **missed** |`);
  }
  return lines.join('\n');
}

export function machineLine(machine: Machine, date: string): string {
  return `${date} on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, Redis ${machine.redis}, commit ${machine.commit}`;
}

/** The full markdown report: machine, table, notes per scenario. */
export function markdownReport(results: readonly ScenarioResult[], machine: Machine, date: string, settings: string): string {
  const notes = results.flatMap((result) => result.notes.map((note) => `- ${result.id}: ${note}`));
  return [`Measured ${machineLine(machine, date)}.`, settings, '', markdownTable(results), '', ...(notes.length ? ['Notes:', '', ...notes, ''] : [])].join('\n');
}

/** A plain-text table for the terminal. */
export function textTable(results: readonly ScenarioResult[]): string {
  const rows: string[][] = [['scenario', 'metric', 'baseline', 'ours', 'unit', 'ratio', 'target', '']];
  for (const result of results) {
    for (const metric of result.metrics) {
      rows.push([
        result.id,
        metric.name,
        formatNumber(metric.baseline),
        formatNumber(metric.ours),
        metric.unit,
        metric.ratio === null ? '–' : metric.ratio.toFixed(2),
        metric.target ?? '',
        metric.met === undefined ? '' : metric.met ? 'met' : 'MISSED',
      ]);
    }
    if (result.error) rows.push([result.id, `ERROR: ${result.error.split('\n')[0]}`, '', '', '', '', '', 'MISSED']);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}
