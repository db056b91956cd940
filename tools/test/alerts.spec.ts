import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { parseYaml } from '../chart/helm.mjs';
import { installed, readText, ROOT } from './ops-fixtures';

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: Record<string, string>;
}

// The seed runbook's "Alert Thresholds" table, row by row, as the alert that implements it.
const RUNBOOK_ALERTS = [
  { row: 'High Error Rate', alert: 'SkreaverHighErrorRate', op: '>', threshold: 5, severity: 'critical', metrics: ['http_requests_total'] },
  { row: 'High Latency', alert: 'SkreaverHighLatency', op: '>', threshold: 1, severity: 'warning', metrics: ['http_request_duration_seconds_bucket'] },
  { row: 'Memory High', alert: 'SkreaverMemoryHigh', op: '>', threshold: 90, severity: 'warning', metrics: ['skreaver_memory_usage_bytes', 'skreaver_memory_total_bytes'] },
  { row: 'Memory Critical', alert: 'SkreaverMemoryCritical', op: '>', threshold: 95, severity: 'critical', metrics: ['skreaver_memory_usage_bytes', 'skreaver_memory_total_bytes'] },
  { row: 'CPU High', alert: 'SkreaverCpuHigh', op: '>', threshold: 80, severity: 'warning', metrics: ['skreaver_cpu_usage_percent'] },
  { row: 'DB Connections Exhausted', alert: 'SkreaverDbConnectionsExhausted', op: '>', threshold: 95, severity: 'critical', metrics: ['skreaver_db_connections_active', 'skreaver_db_connections_max'] },
  { row: 'WebSocket Failures', alert: 'SkreaverWebsocketFailures', op: '>', threshold: 10, severity: 'warning', metrics: ['websocket_connections_failed_total', 'websocket_connections_total'] },
  { row: 'Disk Space Low', alert: 'SkreaverDiskSpaceLow', op: '<', threshold: 10, severity: 'warning', metrics: ['skreaver_disk_usage_bytes', 'skreaver_disk_total_bytes'] },
  { row: 'Service Down', alert: 'SkreaverServiceDown', op: '==', threshold: 0, severity: 'critical', metrics: ['up'] },
];

// The runbook's Key Metrics, which the dashboard must chart.
const KEY_METRICS = [
  'http_requests_total',
  'http_request_duration_seconds_bucket',
  'skreaver_cpu_usage_percent',
  'skreaver_memory_usage_bytes',
  'skreaver_memory_total_bytes',
  'skreaver_disk_usage_bytes',
  'skreaver_disk_total_bytes',
  'websocket_connections_active',
  'websocket_connections_failed_total',
  'websocket_messages_sent_total',
  'skreaver_db_connections_active',
  'skreaver_db_connections_max',
  'skreaver_db_query_duration_seconds',
];

// Metrics the database-pool work adds; alerts and panels on them are kept while it lands.
// Every metric the alerts use is exported now; keep the list for metrics added to alerts ahead of the code.
const PENDING_METRICS: string[] = [];

function typescriptSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : typescriptSources(path);
    return /\.ts$/.test(name) && !/\.(spec|int-spec)\.ts$/.test(name) ? [path] : [];
  });
}

/** Every metric name the services register (`name: '…'` next to a prom-client metric). */
function exportedMetricNames(): Set<string> {
  const names = new Set<string>(['up']);
  const files = ['libs', 'services'].flatMap((group) => readdirSync(join(ROOT, group)).flatMap((p) => typescriptSources(join(ROOT, group, p, 'src'))));
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/name: '([a-z_:][a-z0-9_:]*)'/g)) names.add(match[1]);
  }
  return names;
}

const rules = (): Rule[] => (parseYaml(readText('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

describe('deploy/prometheus/alerts.yml', () => {
  it('should hold one alert per runbook row and nothing else', () => {
    expect(rules().map((r) => r.alert).sort()).toEqual(RUNBOOK_ALERTS.map((a) => a.alert).sort());
  });

  it.each(RUNBOOK_ALERTS)('should alert on "$row" at $op $threshold with severity $severity', ({ alert, op, threshold, severity, metrics }) => {
    const rule = rules().find((r) => r.alert === alert);
    const comparison = /(>|<|==)\s*([0-9.]+)\s*$/.exec(rule?.expr.trim() ?? '');

    expect(comparison?.[1]).toBe(op);
    expect(Number(comparison?.[2])).toBe(threshold);
    expect(rule?.labels.severity).toBe(severity);
    expect(rule?.for).toMatch(/^\d+m$/);
    expect(rule?.annotations.summary).toBeTruthy();
    expect(rule?.annotations.runbook_url).toMatch(/^docs\/RUNBOOK\.md#/);
    for (const metric of metrics) expect(rule?.expr).toContain(metric);
  });

  it('should only use metrics the services export (or the pending database-pool metrics)', () => {
    const exported = exportedMetricNames();
    const used = new Set(rules().flatMap((r) => [...r.expr.matchAll(/\b([a-z_]+_(?:total|bytes|percent|bucket|seconds|active|max)|up)\{/g)].map((m) => m[1])));
    const missing = [...used].map((m) => m.replace(/_bucket$/, '')).filter((m) => !exported.has(m) && !PENDING_METRICS.includes(m));

    expect(missing).toEqual([]);
    for (const metric of ['skreaver_cpu_usage_percent', 'skreaver_memory_usage_bytes', 'skreaver_memory_total_bytes', 'skreaver_disk_usage_bytes', 'skreaver_disk_total_bytes']) {
      expect(exported).toContain(metric);
    }
  });

  it('should match the Alert Thresholds table of docs/RUNBOOK.md, row by row', () => {
    const runbook = readText('docs/RUNBOOK.md');
    const section = runbook.slice(runbook.indexOf('### Alert Thresholds'));
    const rows = section
      .split('\n')
      .filter((line) => /^\| [A-Z]/.test(line) && !line.startsWith('| Alert '))
      .map((line) => line.split('|').map((cell) => cell.trim()));

    for (const { row, alert, severity } of RUNBOOK_ALERTS) {
      const cells = rows.find((c) => c[1] === row);
      expect({ row, cells: cells && [cells[3]?.toLowerCase().replace(/\*/g, ''), cells[4]] }).toEqual({ row, cells: [severity, `\`${alert}\``] });
    }
  });

  it('should be what the chart ships (npm run chart:sync-alerts)', () => {
    const result = spawnSync(process.execPath, [join(ROOT, 'tools', 'chart', 'cli.mjs'), 'sync-alerts', '--check'], { encoding: 'utf8' });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('should pass promtool check rules (when promtool is installed)', () => {
    if (!installed('promtool')) return;
    for (const file of ['deploy/prometheus/alerts.yml', 'charts/skreaver/files/alerts.yml']) {
      const result = spawnSync('promtool', ['check', 'rules', join(ROOT, file)], { encoding: 'utf8' });
      expect(`${file}: ${result.stdout}${result.stderr}`).toContain('SUCCESS: 9 rules found');
    }
    const config = spawnSync('promtool', ['check', 'config', '--syntax-only', join(ROOT, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(config.status).toBe(0);
  });
});

describe('deploy/grafana/skreaver-dashboard.json', () => {
  type Panel = { id: number; type: string; title: string; targets?: Array<{ expr: string }> };
  const dashboard = JSON.parse(readText('deploy/grafana/skreaver-dashboard.json')) as { uid: string; panels: Panel[]; templating: { list: Array<{ name: string }> } };
  const expressions = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);

  it.each(KEY_METRICS)('should chart %s', (metric) => {
    expect(expressions.some((expr) => expr.includes(metric))).toBe(true);
  });

  it('should filter every query by the service variable and give panels unique ids', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job']);
    expect(expressions.every((expr) => expr.includes('job=~"$job"'))).toBe(true);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    expect(dashboard.uid).toBe('skreaver-overview');
  });
});
