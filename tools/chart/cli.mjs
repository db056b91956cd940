#!/usr/bin/env node
// Chart tooling on real Helm (tools/chart/helm.mjs unpacks it from a devDependency; no cluster needed):
//   node tools/chart/cli.mjs render   [-f values.yaml]… [--set K=V]… [--set-string K=V]… [--release NAME] [--namespace NS]
//                                     helm lint --strict, then print `helm template`
//   node tools/chart/cli.mjs validate [same options] [--external-secret NAME]…   lint, template, validate the objects
//   node tools/chart/cli.mjs sync-alerts [--check]      copy deploy/prometheus/alerts.yml into the chart
//   node tools/chart/cli.mjs readme [--check]           regenerate the values table of charts/skreaver/README.md
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { helm, helmTemplate } from './helm.mjs';
import { replaceValuesTable } from './values-docs.mjs';
import { validateObjects } from './validate.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chartDir = join(root, 'charts', 'skreaver');
const ALERTS_SOURCE = join(root, 'deploy', 'prometheus', 'alerts.yml');
const ALERTS_CHART_COPY = join(chartDir, 'files', 'alerts.yml');

/** The chart's copy of the alerts: the source with a header naming it. */
export function chartAlerts(source) {
  return `# GENERATED from deploy/prometheus/alerts.yml by \`npm run chart:sync-alerts\`: edit that file, not this one.\n${source}`;
}

function parseArgs(argv) {
  const options = { args: [], externalSecrets: [], release: 'skreaver', namespace: 'default', check: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (['-f', '--values', '--set', '--set-string', '--set-json'].includes(arg)) options.args.push(arg, argv[++i]);
    else if (arg === '--release') options.release = argv[++i];
    else if (arg === '--namespace' || arg === '-n') options.namespace = argv[++i];
    else if (arg === '--external-secret') options.externalSecrets.push(argv[++i]);
    else if (arg === '--check') options.check = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const options = parseArgs(rest);
  if (command === 'sync-alerts') {
    const wanted = chartAlerts(readFileSync(ALERTS_SOURCE, 'utf8'));
    let current = '';
    try {
      current = readFileSync(ALERTS_CHART_COPY, 'utf8');
    } catch {
      // not generated yet
    }
    if (options.check) {
      if (current !== wanted) throw new Error('charts/skreaver/files/alerts.yml is stale: run `npm run chart:sync-alerts`');
      console.log('charts/skreaver/files/alerts.yml is up to date');
      return;
    }
    writeFileSync(ALERTS_CHART_COPY, wanted);
    console.log('wrote charts/skreaver/files/alerts.yml');
    return;
  }
  if (command === 'readme') {
    const path = join(chartDir, 'README.md');
    const current = readFileSync(path, 'utf8');
    const wanted = replaceValuesTable(current, readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
    if (options.check) {
      if (current !== wanted) throw new Error('charts/skreaver/README.md is stale: run `npm run chart:readme`');
      console.log('charts/skreaver/README.md is up to date');
      return;
    }
    writeFileSync(path, wanted);
    console.log('wrote charts/skreaver/README.md');
    return;
  }
  if (command !== 'render' && command !== 'validate') {
    throw new Error('usage: cli.mjs render|validate|sync-alerts [-f values.yaml]… [--set K=V]… [--release NAME] [--namespace NS]');
  }
  const lint = helm(['lint', '--strict', chartDir, '--namespace', options.namespace, ...options.args]);
  process.stderr.write(lint.stdout);
  const { output, manifests } = helmTemplate(chartDir, { release: options.release, namespace: options.namespace, args: options.args });
  if (command === 'render') {
    process.stdout.write(output);
    return;
  }
  // Without overrides the pods read the Secret the operator creates (secret.create is false by default).
  const results = await validateObjects(
    manifests.map((m) => m.object),
    { externalSecrets: [...options.externalSecrets, `${options.release.includes('skreaver') ? options.release : `${options.release}-skreaver`}`] },
  );
  let failed = 0;
  for (const { id, errors } of results) {
    if (errors.length) {
      failed++;
      console.log(`✗ ${id}\n  - ${errors.join('\n  - ')}`);
    } else {
      console.log(`✓ ${id}`);
    }
  }
  console.log(`${results.length - failed} valid, ${failed} invalid`);
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
