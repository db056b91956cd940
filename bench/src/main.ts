// `npm run bench [-- --only http,mesh] [--quick] [--profile]`: each scenario's raw baseline and the Skreaver path, in one
// run, on loopback; prints the table and writes bench/results/<date>.json and .md (a full run also updates the table
// in bench/README.md). `--profile` profiles the services with V8's profiler, or with BENCH_PROFILER=perf with perf.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describeMachine } from './support/machine';
import { PROFILER } from './support/on-cpu-profile';
import { DATABASE, ROOT, SERVICE_LOG_LEVEL } from './support/platform';
import { machineLine, markdownReport, markdownTable, textTable } from './support/report';
import type { Metric, Scenario, ScenarioResult } from './support/results';
import { withTimeout } from './support/time';
import { gatewayScenario } from './scenarios/gateway.scenario';
import { httpScenario } from './scenarios/http.scenario';
import { meshScenario } from './scenarios/mesh.scenario';
import { runsScenario } from './scenarios/runs.scenario';
import { scaleDataScenario } from './scenarios/scale-data.scenario';
import { soakScenario } from './scenarios/soak.scenario';
import { socketsScenario } from './scenarios/sockets.scenario';
import { startupScenario } from './scenarios/startup.scenario';
import { threadsScenario } from './scenarios/threads.scenario';

const SCENARIOS: Scenario[] = [httpScenario, runsScenario, meshScenario, gatewayScenario, startupScenario, threadsScenario, scaleDataScenario, soakScenario, socketsScenario];
const README_START = '<!-- bench:start -->';
const README_END = '<!-- bench:end -->';

interface Options {
  only: string[] | null;
  quick: boolean;
  profile: boolean;
  durationS?: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { only: null, quick: false, profile: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--quick') options.quick = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--duration' || arg.startsWith('--duration=')) {
      const value = Number(arg === '--duration' ? argv[++i] : arg.slice('--duration='.length));
      if (!Number.isFinite(value) || value <= 0) throw new Error('--duration takes a number of seconds');
      options.durationS = value;
    }
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      options.only = (list ?? '').split(',').map((id) => id.trim()).filter(Boolean);
    } else {
      throw new Error(`unknown argument ${arg}; use --only <${SCENARIOS.map((s) => s.id).join(',')}>, --quick, --profile, --duration <seconds>`);
    }
  }
  const unknown = options.only?.filter((id) => !SCENARIOS.some((scenario) => scenario.id === id)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return options;
}

async function runScenario(scenario: Scenario, options: Options, profileDir: string | undefined): Promise<ScenarioResult> {
  const result: ScenarioResult = { id: scenario.id, title: scenario.title, metrics: [], notes: [], durationMs: 0 };
  const started = performance.now();
  process.stdout.write(`\n▶ ${scenario.title}\n`);
  try {
    await withTimeout(
      scenario.run({
        quick: options.quick,
        ...(options.durationS === undefined ? {} : { durationS: options.durationS }),
        ...(profileDir ? { profileDir } : {}),
        note: (text) => result.notes.push(text),
        record: (metric: Metric) => {
          result.metrics.push(metric);
          process.stdout.write(`  ${textTable([{ ...result, metrics: [metric], error: undefined }]).split('\n')[1]}\n`);
        },
      }),
      scenario.timeoutMs(options.quick),
      `scenario ${scenario.id}`,
    );
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    process.stdout.write(`  ✗ ${result.error}\n`);
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

function updateReadme(table: string, machine: string): void {
  const path = join(ROOT, 'bench', 'README.md');
  const readme = readFileSync(path, 'utf8');
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) {
    process.stdout.write(`bench/README.md has no ${README_START} … ${README_END} markers; not updated\n`);
    return;
  }
  const block = `${README_START}\nLatest run: ${machine}\n\n${table}\n${README_END}`;
  writeFileSync(path, readme.slice(0, start) + block + readme.slice(end + README_END.length));
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const selected = SCENARIOS.filter((scenario) => (options.only ? options.only.includes(scenario.id) : !scenario.optIn));
  const date = new Date().toISOString().slice(0, 10);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profileDir = options.profile ? join(ROOT, 'bench', 'profiles', stamp) : undefined;
  const machine = await describeMachine(ROOT);
  const started = performance.now();
  const results: ScenarioResult[] = [];
  for (const scenario of selected) results.push(await runScenario(scenario, options, profileDir));
  const totalMs = Math.round(performance.now() - started);

  const full = !options.only && !options.quick && !options.profile;
  const suffix = [options.quick ? 'quick' : '', options.only ? 'partial' : '', options.profile ? 'profile' : ''].filter(Boolean).join('-');
  const name = suffix ? `${date}-${suffix}` : date;
  const settings = `Services: built dist, LOG_LEVEL=${SERVICE_LOG_LEVEL}, NODE_ENV=production, ${DATABASE === 'postgres' ? 'PostgreSQL' : 'SQLite'}, Redis on loopback; ${
    options.quick ? 'quick mode (short durations)' : 'full durations'
  }${options.profile ? (PROFILER === 'perf' ? ', under perf record (slower)' : ', with --cpu-prof (slower)') : ''}; total ${Math.round(totalMs / 1000)} s.`;
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, `${name}.json`),
    `${JSON.stringify({ date, mode: suffix || 'full', machine, serviceLogLevel: SERVICE_LOG_LEVEL, totalMs, scenarios: results }, null, 2)}\n`,
  );
  writeFileSync(join(resultsDir, `${name}.md`), `${markdownReport(results, machine, date, settings)}\n`);
  if (full) updateReadme(markdownTable(results), `${machineLine(machine, date)}; ${settings}`);

  process.stdout.write(`\n${textTable(results)}\n\nMachine: ${machineLine(machine, date)}\n${settings}\n`);
  process.stdout.write(`Wrote bench/results/${name}.json and .md${full ? ' and updated bench/README.md' : ''}\n`);
  if (profileDir && PROFILER === 'perf') process.stdout.write(`On-CPU profiles in ${profileDir}/<scenario>/<service>/on-cpu.txt (and perf.data)\n`);
  else if (profileDir) process.stdout.write(`CPU profiles in ${profileDir} (summarise with: node bench/dist/profile-summary.js <dir>)\n`);
  const missed = results.some((result) => result.error);
  process.exitCode = missed ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
