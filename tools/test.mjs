#!/usr/bin/env node
// `npm test`: lint (with Nx module boundaries), typecheck, unit + integration tests (real Redis, SQLite and
// PostgreSQL on 127.0.0.1), build, then e2e against the built services as real processes.
// Ends with one "tests: N passed, N failed" line summing every Jest run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
const reports = mkdtempSync(join(tmpdir(), 'skreaver-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const timings = [];

function step(name, command, args) {
  const started = Date.now();
  process.stdout.write(`\n=== ${name}\n`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  const ok = result.status === 0;
  timings.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s${ok ? '' : ' FAILED'}`);
  return ok;
}

function jest(name, projects) {
  const out = join(reports, `${name}.json`);
  // --forceExit: a handle left open by a failing test must not hang CI for its whole time budget; the results are
  // already written, and a leak still shows as the test's own failure or in --detectOpenHandles runs.
  const ok = step(name, bin('jest'), ['--selectProjects', ...projects, '--forceExit', '--json', `--outputFile=${out}`]);
  try {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
    if (report.numTotalTests === 0) {
      process.stdout.write(`${name}: no tests ran\n`);
      return false;
    }
  } catch {
    totals.failed += 1;
    return false;
  }
  return ok;
}

const only = process.argv[2];
let ok = true;
if (!only || only === 'static') {
  ok = step('nx project graph', bin('nx'), ['show', 'projects']) && ok;
  ok = step('lint', bin('eslint'), ['--max-warnings=0', '.']) && ok;
  ok = step('typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']) && ok;
  ok = step('typecheck console', bin('tsc'), ['-p', join('services', 'console', 'tsconfig.json'), '--noEmit']) && ok;
}
if (!only || only === 'unit-int') ok = jest('unit+int', ['unit', 'int', 'ops']) && ok;
if (!only || only === 'e2e') {
  ok = step('build', process.execPath, [join(root, 'tools', 'build.mjs')]) && ok;
  ok = jest('e2e', ['e2e']) && ok;
  // docs/RUNBOOK.md's commands against a running stack: an operator's runbook that drifted from the code fails here.
  ok = step('runbook check', process.execPath, [join(root, 'tools', 'runbook-check.mjs'), '--no-build']) && ok;
}
rmSync(reports, { recursive: true, force: true });
process.stdout.write(`\n${timings.join(' | ')}\n`);
process.stdout.write(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(ok ? 0 : 1);
