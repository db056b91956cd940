#!/usr/bin/env node
// `npm start`: builds, makes sure Redis answers (starting a private redis-server under ./.skreaver/ if none does
// and one is installed), then runs agent-api (which migrates the database) followed by ws-gateway and
// mesh-coordinator, and waits for each /ready. Ctrl-C stops everything gracefully.
// Without JWT_SECRET_KEY it uses (creating it once) ./.skreaver/jwt-secret; without SKREAVER_ADMIN_API_KEY the
// first start shows a generated admin key once. The services log human-readable lines on a terminal (LOG_FORMAT);
// once all three are ready, one banner sums up where everything is.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startBanner } from './start-banner.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
env.REDIS_URL ||= 'redis://127.0.0.1:6379';
env.SKREAVER_DATA_DIR ||= join(root, '.skreaver');
const children = [];
let stopping = false;

const services = [
  {
    name: 'agent-api',
    port: Number(env.AGENT_API_PORT || 8080),
    // Without a key of the operator's choosing, agent-api mints one (when no admin key exists yet) and hands it over
    // on descriptor 3, a pipe, for the banner below (never through the logs).
    env: {
      // The console's live timeline connects to the gateway on its own port here (no edge routes /socket.io).
      SKREAVER_CONSOLE_GATEWAY_URL: env.SKREAVER_CONSOLE_GATEWAY_URL || `http://localhost:${Number(env.WS_GATEWAY_PORT || 8081)}`,
      ...(env.SKREAVER_ADMIN_API_KEY ? {} : { SKREAVER_GENERATE_ADMIN_KEY: env.SKREAVER_GENERATE_ADMIN_KEY || 'true', SKREAVER_ADMIN_KEY_FD: '3' }),
    },
  },
  { name: 'ws-gateway', port: Number(env.WS_GATEWAY_PORT || 8081) },
  { name: 'mesh-coordinator', port: Number(env.MESH_COORDINATOR_PORT || 8082) },
];

function say(message) {
  process.stderr.write(`[skreaver] ${message}\n`);
}

function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    // A password-protected Redis answers NOAUTH: it is there, the services will authenticate.
    socket.on('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

// A local install needs a stable secret across restarts (or every restart would log everybody out), kept out of the
// shell history and readable by this user only. Deployments set JWT_SECRET_KEY from their secret store instead.
function ensureJwtSecret() {
  if (env.JWT_SECRET_KEY) return;
  const file = join(env.SKREAVER_DATA_DIR, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(env.SKREAVER_DATA_DIR, { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
      say(`Created a JWT secret in ${file} (mode 0600); set JWT_SECRET_KEY to use your own`);
    } catch (error) {
      // Another `npm start` may have created it first; read theirs.
      if (error.code !== 'EEXIST') throw error;
    }
  }
  env.JWT_SECRET_KEY = readFileSync(file, 'utf8').trim();
  if (env.JWT_SECRET_KEY.length < 32) {
    say(`${file} holds fewer than 32 characters; delete it to get a new secret, or set JWT_SECRET_KEY`);
    process.exit(1);
  }
}

async function ensureRedis() {
  if (!env.REDIS_URL.startsWith('redis://') || (await redisAnswers(env.REDIS_URL))) return;
  const { hostname, port } = new URL(env.REDIS_URL);
  const local = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(hostname);
  const installed = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!local || !installed) {
    say(`Nothing answers at REDIS_URL=${env.REDIS_URL}.`);
    say('Skreaver needs Redis 6.2 or newer. Start one (e.g. `apt-get install redis-server`, `brew install redis`,');
    say('or `docker run -p 6379:6379 redis:7`), or point REDIS_URL at yours, then run `npm start` again.');
    process.exit(1);
  }
  const dir = join(env.SKREAVER_DATA_DIR, 'redis');
  mkdirSync(dir, { recursive: true });
  say(`No Redis at ${env.REDIS_URL}; starting a private redis-server (data in ${dir})`);
  const redis = spawn('redis-server', ['--port', port || '6379', '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // Its own process group: Ctrl-C must not stop Redis before the services have drained.
    detached: true,
  });
  children.push({ name: 'redis-server', child: redis });
  for (let i = 0; i < 50 && !(await redisAnswers(env.REDIS_URL)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await redisAnswers(env.REDIS_URL))) {
    say('The private redis-server did not come up');
    shutdown(1);
  }
}

/** Resolves with what agent-api wrote on descriptor 3 (the generated admin key, or nothing) once it closes it. */
let handedKey = Promise.resolve('');

function startService({ name, port, env: own = {} }) {
  const handsKey = own.SKREAVER_ADMIN_KEY_FD !== undefined;
  const child = spawn(process.execPath, [join(root, 'services', name, 'dist', 'main.js')], {
    env: { ...env, ...own, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', ...(handsKey ? ['pipe'] : [])],
  });
  if (handsKey) {
    handedKey = new Promise((resolve) => {
      let text = '';
      child.stdio[3].setEncoding('utf8');
      child.stdio[3].on('data', (chunk) => (text += chunk));
      child.stdio[3].on('end', () => resolve(text.trim()));
      child.stdio[3].on('error', () => resolve(text.trim()));
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the platform`);
      shutdown(1);
    }
  });
  children.push({ name, child });
}

async function waitReady({ name, port }) {
  const started = Date.now();
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      if (response.ok) return Date.now() - started;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      say(`${name} is not ready after 60 s; see its log above`);
      shutdown(1);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  // Services first (they drain in-flight runs), Redis last.
  const services = children.filter((c) => c.name !== 'redis-server');
  const redis = children.find((c) => c.name === 'redis-server');
  for (const { child } of services) child.kill('SIGTERM');
  Promise.all(services.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r))))).then(() => {
    redis?.child.kill('SIGTERM');
    process.exit(code);
  });
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const build = spawnSync(process.execPath, [join(root, 'tools', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
ensureJwtSecret();
await ensureRedis();
startService(services[0]);
const apiMs = await waitReady(services[0]);
services.slice(1).forEach(startService);
const others = await Promise.all(services.slice(1).map(waitReady));
if (!stopping) {
  const times = [apiMs, ...others];
  // agent-api closes the pipe during its bootstrap, before it is ready: this does not wait.
  const adminKey = await handedKey;
  process.stderr.write(
    startBanner({
      services: services.map((s, i) => ({ ...s, readyMs: times[i] })),
      adminKey,
      ownKey: Boolean(env.SKREAVER_ADMIN_API_KEY),
      consoleUrl: consoleUrl(),
      colour: Boolean(process.stderr.isTTY) && !env.NO_COLOR,
    }),
  );
}

/** The web console's address for the banner: agent-api serves it at `/console` (docs/console.md). */
function consoleUrl() {
  return `http://localhost:${services[0].port}/console`;
}

