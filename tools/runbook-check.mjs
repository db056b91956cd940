#!/usr/bin/env node
// `npm run runbook:check`: starts the built services on free ports (private Redis key prefix, temporary SQLite
// directory, a fresh JWT secret and admin API key), then runs every ```bash runbook-check``` block of
// docs/RUNBOOK.md in order, with localhost:8080/8081/8082 pointed at those ports. A block passes when it exits 0
// and its output contains each `expect="…"` of its fence line. Shell variables a block sets (TOKEN, AGENT, …)
// carry over to the next, as they would for an operator working down the page. Before that, every
// `helm install|upgrade` command of the runbook is rendered with real `helm template` (the same --set/--set-string
// flags, over the chart's defaults), so a flag the chart's schema refuses fails here. Ends with "N passed, N failed".
//   --no-build   reuse the current dist/ (default: run tools/build.mjs first)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { helm, helmCommands, templateArgs } from './chart/helm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const BLOCK_TIMEOUT_MS = 20_000;
const started = Date.now();

/** The runbook's checked blocks: heading, commands and expected output fragments. */
export function checkedBlocks(markdown) {
  const blocks = [];
  let heading = '';
  const lines = markdown.split('\n');
  let inOtherFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^(\s*)```bash runbook-check(.*)$/.exec(line);
    if (!fence) {
      // Headings only count outside code blocks (a "# comment" in a shell block is not one).
      if (/^\s*```/.test(line)) inOtherFence = !inOtherFence;
      const title = /^#{1,6} (.*)$/.exec(line);
      if (title && !inOtherFence) heading = title[1];
      continue;
    }
    const indent = fence[1].length;
    const expects = [...fence[2].matchAll(/expect="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\"/g, '"'));
    const body = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(indent));
    blocks.push({ heading, line: blocks.length, script: body.join('\n'), expects });
  }
  return blocks;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const say = (message) => process.stdout.write(`${message}\n`);

async function waitReady(service) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited:\n${service.output.join('')}`);
    try {
      if ((await fetch(`http://127.0.0.1:${service.port}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${service.name} not ready after 30 s:\n${service.output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  if (!process.argv.includes('--no-build')) {
    const build = spawnSync(process.execPath, [join(root, 'tools', 'build.mjs')], { stdio: 'inherit' });
    if (build.status !== 0) process.exit(1);
  }
  const runbook = readFileSync(join(root, 'docs', 'RUNBOOK.md'), 'utf8');
  const blocks = checkedBlocks(runbook);
  const dataDir = mkdtempSync(join(tmpdir(), 'skreaver-runbook-'));
  const prefix = `rb-${randomBytes(4).toString('hex')}`;
  const secrets = {
    JWT_SECRET_KEY: randomBytes(48).toString('base64url'),
    SKREAVER_ADMIN_API_KEY: `sk_${randomBytes(5).toString('hex')}_${randomBytes(32).toString('base64url')}`,
  };
  const common = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dataDir,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.argv.includes('--verbose') ? 'info' : 'warn',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    SKREAVER_DATA_DIR: dataDir,
    SHUTDOWN_TIMEOUT_MS: '10000',
  };
  const ports = { 'agent-api': await freePort(), 'ws-gateway': await freePort(), 'mesh-coordinator': await freePort() };
  const services = [];
  const start = (name, extra = {}) => {
    const output = [];
    const child = spawn(process.execPath, [join(root, 'services', name, 'dist', 'main.js')], {
      env: { ...common, ...extra, PORT: String(ports[name]) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d) => output.push(String(d)));
    child.stderr.on('data', (d) => output.push(String(d)));
    const service = { name, port: ports[name], child, output };
    services.push(service);
    return service;
  };
  const stop = async () => {
    await Promise.all(
      services.map((s) => (s.child.exitCode !== null ? null : new Promise((r) => (s.child.once('exit', r), s.child.kill('SIGTERM'))))),
    );
    // Remove every key under the private prefix (streams "prefix:…", BullMQ "{prefix}…").
    for (const pattern of [`${prefix}:*`, `{${prefix}}*`]) {
      const keys = spawnSync('redis-cli', ['-u', REDIS_URL, '--scan', '--pattern', pattern], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
      for (let i = 0; i < keys.length; i += 500) spawnSync('redis-cli', ['-u', REDIS_URL, 'DEL', ...keys.slice(i, i + 500)], { stdio: 'ignore' });
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  let passed = 0;
  let failed = 0;
  for (const command of helmCommands(runbook)) {
    try {
      helm(templateArgs(command), { cwd: root });
      passed++;
      say(`✓ helm template as: ${command}`);
    } catch (error) {
      failed++;
      say(`✗ helm template as: ${command}\n${error.message.replace(/^/gm, '    | ')}`);
    }
  }
  try {
    await waitReady(start('agent-api', secrets));
    await Promise.all([start('ws-gateway', secrets), start('mesh-coordinator')].map(waitReady));
    say(`stack up in ${Date.now() - started} ms: agent-api :${ports['agent-api']}, ws-gateway :${ports['ws-gateway']}, mesh-coordinator :${ports['mesh-coordinator']}`);

    const state = join(dataDir, 'runbook-state.sh');
    writeFileSync(state, '');
    for (const block of blocks) {
      const script = block.script
        .replace(/localhost:8080\b/g, `localhost:${ports['agent-api']}`)
        .replace(/localhost:8081\b/g, `localhost:${ports['ws-gateway']}`)
        .replace(/localhost:8082\b/g, `localhost:${ports['mesh-coordinator']}`)
        .replace(/for port in 8080 8081 8082/g, `for port in ${ports['agent-api']} ${ports['ws-gateway']} ${ports['mesh-coordinator']}`)
        .replace(/:808\[0-2\]/g, `:(${Object.values(ports).join('|')})`);
      // Upper-case shell variables set by the block carry over to the next one.
      const wrapped = [
        'set -eo pipefail',
        `source ${JSON.stringify(state)}`,
        script,
        `for __v in $(compgen -v); do case $__v in [A-Z]*) [[ $__v =~ ^(BASH.*|SHELLOPTS|PPID|UID|EUID|GROUPS|PWD|OLDPWD|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|SHLVL|PIPESTATUS|FUNCNAME|DIRSTACK|SECONDS|RANDOM|SRANDOM|LINENO|IFS|PS4|OPTIND|OPTERR|COLUMNS|LINES|HISTCMD|EPOCHSECONDS|EPOCHREALTIME|PATH|HOME)$ ]] || declare -p "$__v";; esac; done > ${JSON.stringify(state)} 2>/dev/null || true`,
      ].join('\n');
      const env = {
        ...common,
        SKREAVER_API_URL: `http://localhost:${ports['agent-api']}`,
        SKREAVER_GATEWAY_URL: `http://localhost:${ports['ws-gateway']}`,
        SKREAVER_COORDINATOR_URL: `http://localhost:${ports['mesh-coordinator']}`,
        SKREAVER_ADMIN_API_KEY: secrets.SKREAVER_ADMIN_API_KEY,
      };
      const result = spawnSync('bash', ['-c', wrapped], { cwd: root, env, encoding: 'utf8', timeout: BLOCK_TIMEOUT_MS });
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
      const missing = block.expects.filter((e) => !output.includes(e));
      const label = `${block.heading} (block ${block.line + 1})`;
      if (result.status === 0 && missing.length === 0) {
        passed++;
        say(`✓ ${label}`);
      } else {
        failed++;
        const why = result.error ? result.error.message : result.status !== 0 ? `exit ${result.status ?? result.signal}` : `output lacks ${missing.map((m) => JSON.stringify(m)).join(', ')}`;
        say(`✗ ${label}: ${why}\n${script.replace(/^/gm, '    $ ')}\n${output.trim().replace(/^/gm, '    | ')}`);
        if (process.argv.includes('--verbose')) for (const s of services) say(`--- ${s.name}\n${s.output.join('')}`);
      }
    }
  } catch (error) {
    failed++;
    say(`✗ could not start the stack: ${error.message}`);
  } finally {
    await stop();
  }
  say(`runbook-check finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  say(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
