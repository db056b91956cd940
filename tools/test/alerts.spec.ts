import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseYaml } from '../chart/helm.mjs';
import { readText, requireTool, ROOT } from './ops-fixtures';

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
    expect(rule?.annotations.runbook_url).toMatch(/^https:\/\/github\.com\/skreaver\/skreaver\/blob\/main\/docs\/RUNBOOK\.md#[a-z0-9-]+$/);
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

  it('should select on the stable skreaver_service label, never on job names (which follow the release name)', () => {
    for (const rule of rules()) {
      expect({ alert: rule.alert, jobMatchers: rule.expr.match(/job\s*=~?/g) }).toEqual({ alert: rule.alert, jobMatchers: null });
      for (const selector of rule.expr.match(/\b[a-z_]+\{[^}]*\}/g) ?? []) expect(selector).toMatch(/skreaver_service=~?"/);
    }
  });

  it('should link every alert to a heading that docs/RUNBOOK.md has', () => {
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
    const anchors = new Set(readText('docs/RUNBOOK.md').split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => slug(l.replace(/^#+ /, ''))));

    for (const rule of rules()) expect(anchors).toContain(rule.annotations.runbook_url.split('#')[1]);
  });

  it('should pass promtool check rules, and promtool check config for prometheus.yml', () => {
    requireTool('promtool', ['--version'], 'prometheus');
    for (const file of ['deploy/prometheus/alerts.yml', 'charts/skreaver/files/alerts.yml']) {
      const result = spawnSync('promtool', ['check', 'rules', join(ROOT, file)], { encoding: 'utf8' });
      expect(`${file}: ${result.stdout}${result.stderr}`).toContain('SUCCESS: 9 rules found');
    }
    const config = spawnSync('promtool', ['check', 'config', '--syntax-only', join(ROOT, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(`${config.stdout}${config.stderr}`).toContain('SUCCESS');
  });

  it('should pass its promtool rule tests (deploy/prometheus/alerts.test.yml), with a firing case for every alert', () => {
    requireTool('promtool', ['--version'], 'prometheus');
    const tests = parseYaml(readText('deploy/prometheus/alerts.test.yml')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const firing = new Set(tests.tests.flatMap((t) => t.alert_rule_test).filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname));

    expect([...firing].sort()).toEqual(rules().map((r) => r.alert).sort());
    const result = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: join(ROOT, 'deploy/prometheus'), encoding: 'utf8' });
    expect(`${result.status} ${result.stdout}${result.stderr}`).toMatch(/^0 [\s\S]*SUCCESS/);
  });

  it('should fail its promtool rule tests when an alert selects on job names again', () => {
    requireTool('promtool', ['--version'], 'prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'skreaver-alerts-'));
    try {
      const old = readText('deploy/prometheus/alerts.yml').replaceAll('skreaver_service=~"agent-api|ws-gateway|mesh-coordinator"', 'job=~".*skreaver-(agent-api|ws-gateway|mesh-coordinator)"');
      writeFileSync(join(dir, 'alerts.yml'), old);
      copyFileSync(join(ROOT, 'deploy/prometheus/alerts.test.yml'), join(dir, 'alerts.test.yml'));
      const result = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir, encoding: 'utf8' });

      expect(result.status).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toContain('alertname: SkreaverServiceDown');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
